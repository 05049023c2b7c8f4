/* embed.c — the smallest complete Mnemo program: load a model, feed a prompt,
 * generate greedily, print the text. Plain C11 against <mnemo/mnemo.h>.
 *
 *   embed MODEL.gguf ["PROMPT"] [MAX_TOKENS]
 *
 * Build against an installed Mnemo:
 *   cc embed.c $(pkg-config --cflags --libs mnemo) -o embed
 * or in CMake: find_package(Mnemo) + target_link_libraries(embed PRIVATE Mnemo::mnemo). */
#include <mnemo/mnemo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* what, mnemo_status status) {
    fprintf(stderr, "embed: %s: %s: %s\n", what, mnemo_status_name(status), mnemo_last_error());
    return 1;
}

/* Streaming callback: print each piece as it is generated. */
static int print_piece(int32_t token, const char* piece, size_t len, void* user_data) {
    (void)token;
    (void)user_data;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0; /* nonzero would stop generation */
}

int main(int argc, char** argv) {
    const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
    const int max_tokens = argc > 3 ? atoi(argv[3]) : 32;
    mnemo_model* model = NULL;
    mnemo_session* session = NULL;
    mnemo_session_params sp = mnemo_session_default_params();
    mnemo_generate_params gp = mnemo_generate_default_params();
    mnemo_memory_plan plan;
    mnemo_model_info info;
    int32_t* tokens = NULL;
    size_t n_tokens = 0, n_generated = 0;
    mnemo_status s;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: embed MODEL.gguf [\"PROMPT\"] [MAX_TOKENS]\n");
        return 2;
    }
    printf("mnemo %s (header %s)\n", mnemo_version_string(), MNEMO_VERSION_STRING);
    if (mnemo_version() != MNEMO_VERSION) fprintf(stderr, "embed: warning: header and library versions differ\n");

    s = mnemo_model_load(argv[1], NULL, &model);
    if (s != MNEMO_OK) return fail("loading the model", s);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    mnemo_model_get_info(model, &info);

    /* The exact memory a session will hold, known before it is allocated. */
    memset(&plan, 0, sizeof plan);
    plan.struct_size = sizeof plan;
    if (!info.bounded) sp.max_context = 4096; /* unbounded mixers need a limit */
    s = mnemo_memory_plan_get(model, &sp, &plan);
    if (s != MNEMO_OK) { rc = fail("planning the session", s); goto done; }
    printf("model '%s': %d layers, %.2fM parameters; session state %llu bytes (%s)\n", info.name, info.n_layers,
           (double)info.n_params / 1e6, (unsigned long long)plan.state_bytes, plan.bounded ? "constant" : "grows to max_context");

    s = mnemo_session_create(model, &sp, &session);
    if (s != MNEMO_OK) { rc = fail("creating a session", s); goto done; }

    /* Tokenize: ask for the size first, then fill. */
    s = mnemo_tokenize(model, prompt, strlen(prompt), 1, NULL, 0, &n_tokens);
    if (s != MNEMO_ERR_BUFFER_TOO_SMALL && s != MNEMO_OK) { rc = fail("tokenizing", s); goto done; }
    tokens = (int32_t*)malloc((n_tokens + (size_t)max_tokens + 1) * sizeof *tokens);
    if (tokens == NULL) goto done;
    s = mnemo_tokenize(model, prompt, strlen(prompt), 1, tokens, n_tokens, &n_tokens);
    if (s != MNEMO_OK) { rc = fail("tokenizing", s); goto done; }

    s = mnemo_session_feed(session, tokens, n_tokens);
    if (s != MNEMO_OK) { rc = fail("feeding the prompt", s); goto done; }

    gp.max_tokens = max_tokens; /* greedy by default: gp.sampler.temperature == 0 */
    gp.on_token = print_piece;
    printf("%s", prompt);
    s = mnemo_session_generate(session, &gp, tokens, (size_t)max_tokens, &n_generated);
    if (s != MNEMO_OK) { rc = fail("generating", s); goto done; }
    printf("\n[prompt %zu tokens, generated %zu tokens]\n", n_tokens, n_generated);
    rc = 0;

done:
    free(tokens);
    mnemo_session_free(session);
    mnemo_model_free(model);
    return rc;
}
