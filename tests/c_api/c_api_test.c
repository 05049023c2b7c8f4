/* Compiled as strict C11 (-std=c11 -pedantic -Werror): proves mnemo.h is plain C
 * and exercises the API the way a C program would. Usage: c_api_test MODEL.gguf */
#include <mnemo/mnemo.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
                    __LINE__, #cond, mnemo_last_error());                        \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

int main(int argc, char** argv) {
    mnemo_model* model = NULL;
    mnemo_model_params mp = mnemo_model_default_params();
    mnemo_model_info info;
    mnemo_layer_info layer;
    mnemo_session_params sp = mnemo_session_default_params();
    mnemo_session* session = NULL;
    int32_t tokens[64];
    size_t n = 0;
    char text[64];
    int64_t position = -1;
    int32_t i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    CHECK(mnemo_version() == MNEMO_VERSION);
    CHECK(strcmp(mnemo_version_string(), MNEMO_VERSION_STRING) == 0);

    CHECK(mnemo_model_load("/nonexistent/model.gguf", &mp, &model) == MNEMO_ERR_IO);
    CHECK(model == NULL);
    CHECK(strstr(mnemo_last_error(), "/nonexistent/model.gguf") != NULL);

    CHECK(mnemo_model_load(argv[1], &mp, &model) == MNEMO_OK);
    if (model == NULL) return 1;

    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK(mnemo_model_get_info(model, &info) == MNEMO_OK);
    CHECK(info.n_layers > 0 && info.vocab_size > 0 && info.hidden_size > 0);
    printf("model '%s': %d layers, vocab %d, %llu params\n", info.name, info.n_layers, info.vocab_size,
           (unsigned long long)info.n_params);
    for (i = 0; i < info.n_layers; ++i) {
        memset(&layer, 0, sizeof layer);
        layer.struct_size = sizeof layer;
        CHECK(mnemo_model_get_layer_info(model, i, &layer) == MNEMO_OK);
        printf("  layer %d: %s\n", i, mnemo_mixer_kind_name(layer.mixer));
    }

    CHECK(mnemo_tokenize(model, "bounded", 7, 0, tokens, 64, &n) == MNEMO_OK);
    CHECK(n == 7);
    CHECK(mnemo_detokenize(model, tokens, n, text, sizeof text, &n) == MNEMO_OK);
    CHECK(n == 7 && strcmp(text, "bounded") == 0);
    CHECK(mnemo_tokenize(model, "bounded", 7, 0, tokens, 3, &n) == MNEMO_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 7);

    sp.max_context = 4096;
    CHECK(sp.backend == MNEMO_BACKEND_AUTO);
    sp.backend = MNEMO_BACKEND_CPU;
    CHECK(mnemo_session_create(model, &sp, &session) == MNEMO_OK);
    CHECK(mnemo_session_position(session, &position) == MNEMO_OK && position == 0);
    /* The backend a session runs on: an explicit CPU session says CPU. */
    {
        mnemo_backend backend = MNEMO_BACKEND_AUTO;
        CHECK(mnemo_session_backend(session, &backend) == MNEMO_OK && backend == MNEMO_BACKEND_CPU);
        CHECK(mnemo_session_backend(NULL, &backend) == MNEMO_ERR_INVALID_ARGUMENT);
        CHECK(mnemo_session_backend(session, NULL) == MNEMO_ERR_INVALID_ARGUMENT);
    }
    sp.backend = MNEMO_BACKEND_CUDA;
    {
        mnemo_session* cuda = NULL;
        mnemo_session* automatic = NULL;
        mnemo_backend backend = MNEMO_BACKEND_AUTO;
        mnemo_status s = mnemo_session_create(model, &sp, &cuda);
        CHECK(s == MNEMO_ERR_NO_DEVICE || s == MNEMO_OK);
        if (s == MNEMO_OK) CHECK(mnemo_session_backend(cuda, &backend) == MNEMO_OK && backend == MNEMO_BACKEND_CUDA);
        /* AUTO resolves to CPU or CUDA, never stays AUTO; without a device it is the CPU. */
        sp.backend = MNEMO_BACKEND_AUTO;
        CHECK(mnemo_session_create(model, &sp, &automatic) == MNEMO_OK);
        backend = MNEMO_BACKEND_AUTO;
        CHECK(mnemo_session_backend(automatic, &backend) == MNEMO_OK);
        CHECK(backend == MNEMO_BACKEND_CPU || backend == MNEMO_BACKEND_CUDA);
        if (s == MNEMO_ERR_NO_DEVICE) CHECK(backend == MNEMO_BACKEND_CPU);
        printf("AUTO session runs on %s\n", backend == MNEMO_BACKEND_CUDA ? "cuda" : "cpu");
        mnemo_session_free(automatic);
        mnemo_session_free(cuda);
    }
    mnemo_session_free(session);
    mnemo_model_free(model);

    CHECK(strcmp(mnemo_status_name(MNEMO_ERR_TRUNCATED), "MNEMO_ERR_TRUNCATED") == 0);
    if (failures == 0) printf("c_api_test: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
