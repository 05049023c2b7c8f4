#include "mixer.h"

namespace mnemo {

const MixerModule& mixer_module(mnemo_mixer_kind kind) {
    switch (kind) {
        case MNEMO_MIXER_GDN: return kGdnMixer;
        case MNEMO_MIXER_SWA: return kSwaMixer;
        case MNEMO_MIXER_LTE: return kLteMixer;
        case MNEMO_MIXER_NSA: return kNsaMixer;
        case MNEMO_MIXER_ATTN: break;
    }
    return kAttnMixer;
}

}  // namespace mnemo
