/* qa.c — offline long-document Q&A with the store API: add a document to a SQLite
 * store, ingest it once into a bounded snapshot (with a progress callback), then
 * answer questions from the snapshot. Run it twice: the second run finds the document
 * already ingested and answers straight from the stored snapshot.
 *
 *   qa MODEL.gguf STORE.db ["QUESTION"] [FILE] */
#include <mnemo/mnemo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* kBuiltinDocument =
    "The lighthouse keeper wrote in her log every night. On the first night the lamp was red; "
    "on the second night a ship named Halcyon passed to the north; on the third night the fog "
    "came in and the horn sounded until dawn. The keeper's cat was called Pepper. ";

static int fail(const char* what, mnemo_status s) {
    fprintf(stderr, "qa: %s: %s: %s\n", what, mnemo_status_name(s), mnemo_last_error());
    return 1;
}

static int on_progress(int64_t done, int64_t total, uint64_t state_bytes, void* user_data) {
    (void)user_data;
    fprintf(stderr, "\ringesting %lld/%lld tokens, state %llu bytes", (long long)done, (long long)total,
            (unsigned long long)state_bytes);
    if (done == total) fprintf(stderr, "\n");
    return 0; /* nonzero cancels; a later ingest resumes from the last checkpoint */
}

static char* read_file(const char* path, size_t* len) {
    FILE* f = fopen(path, "rb");
    char* buf = NULL;
    long size;
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (char*)malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)size;
    }
    fclose(f);
    return buf;
}

int main(int argc, char** argv) {
    const char* question = argc > 3 ? argv[3] : "What was the cat called?";
    mnemo_model* model = NULL;
    mnemo_store* store = NULL;
    mnemo_session* session = NULL;
    mnemo_document doc;
    mnemo_answer answer;
    mnemo_ask_params ask = mnemo_ask_default_params();
    mnemo_ingest_params ingest = mnemo_ingest_default_params();
    mnemo_ingest_result result;
    mnemo_session_params sp = mnemo_session_default_params();
    char* text = NULL;
    size_t text_len = 0;
    int64_t id = 0;
    int i, rc = 1;
    mnemo_status s;

    if (argc < 3) {
        fprintf(stderr, "usage: qa MODEL.gguf STORE.db [\"QUESTION\"] [FILE]\n");
        return 2;
    }
    if (argc > 4) {
        text = read_file(argv[4], &text_len);
        if (text == NULL) {
            fprintf(stderr, "qa: cannot read %s\n", argv[4]);
            return 1;
        }
    } else {
        /* The built-in paragraph, repeated (pass FILE for a really long document). */
        const size_t n = strlen(kBuiltinDocument);
        text = (char*)malloc(n * 4 + 1);
        if (text == NULL) return 1;
        for (i = 0; i < 4; ++i) memcpy(text + (size_t)i * n, kBuiltinDocument, n);
        text_len = n * 4;
    }

    s = mnemo_model_load(argv[1], NULL, &model);
    if (s != MNEMO_OK) { rc = fail("loading the model", s); goto done; }
    s = mnemo_store_open(argv[2], NULL, &store); /* created if missing; WAL; schema migrated */
    if (s != MNEMO_OK) { rc = fail("opening the store", s); goto done; }

    s = mnemo_store_add_document(store, argc > 4 ? argv[4] : "lighthouse log", text, text_len, &id);
    if (s == MNEMO_ERR_STATE && id > 0) {
        printf("document already stored as #%lld\n", (long long)id);
    } else if (s != MNEMO_OK) {
        rc = fail("adding the document", s);
        goto done;
    } else {
        printf("added document #%lld (%zu bytes)\n", (long long)id, text_len);
    }

    memset(&doc, 0, sizeof doc);
    doc.struct_size = sizeof doc;
    s = mnemo_store_get_document(store, id, &doc);
    if (s != MNEMO_OK) { rc = fail("reading the document", s); goto done; }
    if (!doc.ingested) {
        s = mnemo_session_create(model, &sp, &session);
        if (s != MNEMO_OK) { rc = fail("creating a session", s); goto done; }
        ingest.progress = on_progress;
        memset(&result, 0, sizeof result);
        result.struct_size = sizeof result;
        s = mnemo_store_ingest(store, session, id, &ingest, &result);
        if (s != MNEMO_OK) { rc = fail("ingesting", s); goto done; }
        printf("ingested %lld tokens in %.2f s; snapshot %llu bytes\n", (long long)result.n_tokens, result.seconds,
               (unsigned long long)result.snapshot_bytes);
    } else {
        printf("already ingested: %lld tokens, snapshot %llu bytes\n", (long long)doc.n_tokens, (unsigned long long)doc.snapshot_bytes);
    }

    ask.generate.max_tokens = 32; /* greedy: the same answer every run */
    memset(&answer, 0, sizeof answer);
    answer.struct_size = sizeof answer;
    s = mnemo_store_ask(store, model, id, question, &ask, &answer);
    if (s != MNEMO_OK) { rc = fail("asking", s); goto done; }
    printf("Q: %s\nA: %s\n", question, answer.text);
    printf("(restore %.1f ms, question %.1f ms, answer %lld tokens in %.1f ms)\n", answer.restore_ms, answer.prefill_ms,
           (long long)answer.answer_tokens, answer.generate_ms);

    memset(&doc, 0, sizeof doc);
    doc.struct_size = sizeof doc;
    if (mnemo_store_get_document(store, id, &doc) == MNEMO_OK)
        printf("document #%lld '%s' has %lld recorded questions\n", (long long)doc.id, doc.title, (long long)doc.n_questions);
    rc = 0;

done:
    mnemo_session_free(session);
    mnemo_store_close(store);
    mnemo_model_free(model);
    free(text);
    return rc;
}
