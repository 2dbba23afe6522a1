/*
 * test_infer_worker.c - the shared inference worker with several sessions.
 *
 * usage: test_infer_worker MUSETALK_SMALL_DIR   (tests/ref/musetalk_ref.py small)
 *
 * The small random UNet + VAE of the MuseTalk reference (latents (8, 8, 8),
 * chunks (10, 16), 64x64 faces). Checks:
 *  - three sessions on three threads submit jobs at once (back-pressure
 *    bound 2, blocking submits); each takes back exactly its jobs, in order,
 *    and every inferred face equals ls_musetalk_render run directly on that
 *    frame alone (tolerance below); frames with a NULL latent (silent) are
 *    not rendered and their face bytes stay untouched;
 *  - the statistics: rendered and skipped frame counts, no batch above
 *    batch_size, batches holding frames of several jobs (merging);
 *  - back-pressure without waiting: a client at its bound is refused, never
 *    exceeds it, and is accepted again after a job finishes;
 *  - skipping frames of a queued job (ls_infer_skip_frame: not rendered);
 *  - cancelling a queued job (nothing rendered, taken back in order),
 *    closing a client (its jobs queued and submitted later are cancelled, a
 *    take waiting on one from another thread wakes) and freeing a client
 *    with jobs queued;
 *  - the warm-up: the worker starts with a batch of zero frames rendered
 *    (timed, not counted), and the faces above must still equal direct
 *    renders (the warm-up leaves the model's results alone); after it, no
 *    batch of any size (1..batch_size, several jobs merged or one alone)
 *    grows the activation memory, while a worker without a warm-up grows it
 *    in its first batch (the statistic counts). The CPU records no passes;
 *    recorded warm-ups are checked on the emulated GPU (e2e/gpu_worker_test.py).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sleep.h"
#include "live/infer_worker.h"

#define SESSIONS 3
#define JOBS 4
#define FRAMES 3          /* per job */
#define BATCH 4
#define IN_FLIGHT 2
#define LATENT_FLOATS (8 * 8 * 8)
#define CHUNK_FLOATS (10 * 16)
#define UNTOUCHED 0xAB

static ls_musetalk *model;
static ls_infer_worker *worker;
static int64_t face_bytes;

typedef struct session {
    int id;
    float latents[JOBS][FRAMES][LATENT_FLOATS];
    const float *latent_ptr[JOBS][FRAMES];
    float chunks[JOBS][FRAMES * CHUNK_FLOATS];
    uint8_t *faces[JOBS];
    uint8_t *want[JOBS];      /* direct renders, one frame at a time */
    ls_infer_job jobs[JOBS];
    int max_in_flight_seen;
    int order_ok;
} session;

static float frand(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) / 16777216.0 * 2 - 1);
}

static int silent(int s, int j, int f)
{
    return (s + j + f) % 3 == 0;
}

static void make_session(session *se, int id, nn_ctx *ctx)
{
    uint32_t state = 777u + (uint32_t)id;
    se->id = id;
    for (int j = 0; j < JOBS; j++) {
        se->faces[j] = malloc((size_t)FRAMES * face_bytes);
        se->want[j] = malloc((size_t)FRAMES * face_bytes);
        memset(se->faces[j], UNTOUCHED, (size_t)FRAMES * face_bytes);
        memset(se->want[j], UNTOUCHED, (size_t)FRAMES * face_bytes);
        for (int f = 0; f < FRAMES; f++) {
            for (int k = 0; k < LATENT_FLOATS; k++)
                se->latents[j][f][k] = frand(&state);
            for (int k = 0; k < CHUNK_FLOATS; k++)
                se->chunks[j][f * CHUNK_FLOATS + k] = frand(&state);
            se->latent_ptr[j][f] = silent(id, j, f) ? NULL : se->latents[j][f];
            if (silent(id, j, f))
                continue;
            nn_tensor lat = nn_view4(se->latents[j][f], 1, 8, 8, 8);
            nn_tensor aud = nn_view3(se->chunks[j] + f * CHUNK_FLOATS, 1, 10, 16);
            ls_musetalk_render(model, ctx, &lat, &aud, se->want[j] + f * face_bytes);
        }
        se->jobs[j] = (ls_infer_job){ .n = FRAMES, .latents = se->latent_ptr[j],
                                      .chunks = se->chunks[j], .faces = se->faces[j] };
    }
}

static void *session_main(void *arg)
{
    session *se = arg;
    ls_error err = { 0 };
    ls_infer_client *c;
    if (ls_infer_client_new(worker, IN_FLIGHT, NULL, NULL, &c, &err) != 0)
        return NULL;
    for (int j = 0; j < JOBS; j++) {
        ls_infer_submit(c, &se->jobs[j], 1);
        int n = ls_infer_in_flight(c);
        if (n > se->max_in_flight_seen)
            se->max_in_flight_seen = n;
    }
    se->order_ok = 1;
    for (int j = 0; j < JOBS; j++)
        se->order_ok &= ls_infer_take(c, 1) == &se->jobs[j];
    se->order_ok &= ls_infer_take(c, 0) == NULL;
    ls_infer_client_free(c);
    return NULL;
}

/* Batches of several frames and single frames differ only in the GEMM's
 * blocking (summation order), a few float ulps before the uint8 rounding:
 * at most one grey level apart where a value falls on a rounding edge. */
static void check_faces(const session *se, int64_t *rendered, int64_t *skipped)
{
    for (int j = 0; j < JOBS; j++) {
        int inferred = 0, worst = 0, untouched = 1;
        for (int f = 0; f < FRAMES; f++) {
            const uint8_t *got = se->faces[j] + f * face_bytes, *want = se->want[j] + f * face_bytes;
            if (silent(se->id, j, f)) {
                (*skipped)++;
                for (int64_t k = 0; k < face_bytes; k++)
                    untouched &= got[k] == UNTOUCHED;
                continue;
            }
            inferred++;
            (*rendered)++;
            for (int64_t k = 0; k < face_bytes; k++) {
                int d = abs((int)got[k] - (int)want[k]);
                worst = d > worst ? d : worst;
            }
        }
        CHECK(worst <= 1, "session %d job %d: faces differ by %d levels from a direct render",
              se->id, j, worst);
        CHECK(untouched, "session %d job %d: a silent frame's face was written", se->id, j);
        CHECK(se->jobs[j].inferred == inferred && !se->jobs[j].cancelled,
              "session %d job %d: %d frames inferred, want %d", se->id, j, se->jobs[j].inferred,
              inferred);
        if (se->id == 0 && j == 0)
            printf("session 0 job 0: largest difference from a direct render %d level(s)\n", worst);
    }
}

static void test_sessions(nn_ctx *ctx)
{
    static session sessions[SESSIONS];
    pthread_t threads[SESSIONS];
    for (int s = 0; s < SESSIONS; s++)
        make_session(&sessions[s], s, ctx);
    for (int s = 0; s < SESSIONS; s++)
        pthread_create(&threads[s], NULL, session_main, &sessions[s]);
    for (int s = 0; s < SESSIONS; s++)
        pthread_join(threads[s], NULL);
    int64_t rendered = 0, skipped = 0;
    for (int s = 0; s < SESSIONS; s++) {
        const session *se = &sessions[s];
        CHECK(se->order_ok, "session %d: jobs not taken back in submission order", s);
        CHECK(se->max_in_flight_seen <= IN_FLIGHT && se->max_in_flight_seen >= 1,
              "session %d: %d jobs in flight, bound %d", s, se->max_in_flight_seen, IN_FLIGHT);
        check_faces(se, &rendered, &skipped);
    }
    ls_infer_stats st;
    ls_infer_worker_stats(worker, &st);
    printf("worker: %lld frames in %lld batches (largest %d), %lld skipped, %.1f fps, queue %d\n",
           (long long)st.frames, (long long)st.batches, st.largest_batch, (long long)st.skipped,
           st.fps, st.queued_frames);
    CHECK(st.frames == rendered && st.skipped == skipped,
          "stats: %lld rendered, %lld skipped; want %lld, %lld", (long long)st.frames,
          (long long)st.skipped, (long long)rendered, (long long)skipped);
    CHECK(st.largest_batch <= BATCH, "a batch of %d frames (batch size %d)", st.largest_batch,
          BATCH);
    /* no job has more than 2 frames to render: a batch of 3 or 4 merged jobs */
    CHECK(st.largest_batch > 2, "no batch merged several jobs (largest %d)", st.largest_batch);
    CHECK(st.queued_jobs == 0 && st.queued_frames == 0, "queue not empty");
    for (int s = 0; s < SESSIONS; s++)
        for (int j = 0; j < JOBS; j++) {
            free(sessions[s].faces[j]);
            free(sessions[s].want[j]);
        }
}

enum { LONG_JOB = 64 };   /* frames: the longest job the tests below make */

/* Up to three jobs of n[i] frames each, all inferred, over shared zero
 * inputs, their faces in one block (free_jobs). */
typedef struct test_jobs {
    ls_infer_job job[3];
    const float *latents[3][LONG_JOB];
    uint8_t *faces;
} test_jobs;

static void make_jobs(test_jobs *t, int count, const int n[])
{
    static float latent[LATENT_FLOATS], chunks[LONG_JOB * CHUNK_FLOATS];
    int total = 0;
    for (int i = 0; i < count; i++)
        total += n[i];
    t->faces = malloc((size_t)total * face_bytes);
    uint8_t *faces = t->faces;
    for (int i = 0; i < count; i++) {
        for (int f = 0; f < n[i]; f++)
            t->latents[i][f] = latent;
        t->job[i] = (ls_infer_job){ .n = n[i], .latents = t->latents[i], .chunks = chunks, .faces = faces };
        faces += n[i] * face_bytes;
    }
}

typedef struct waiting_take {
    ls_infer_client *client, *blocker;
    ls_infer_job *taken;
    int blocker_in_flight;   /* when the take returned */
} waiting_take;

static void *take_waiting(void *arg)
{
    waiting_take *w = arg;
    w->taken = ls_infer_take(w->client, 1);
    w->blocker_in_flight = ls_infer_in_flight(w->blocker);
    return NULL;
}

/* A take waiting (on another thread) for a job queued behind a long one
 * returns when the client is closed, not when the long job is done. */
static void closing_wakes_a_waiting_take(void)
{
    test_jobs jobs;
    make_jobs(&jobs, 2, (const int[]){ LONG_JOB, BATCH });
    ls_infer_job long_job = jobs.job[0], queued = jobs.job[1];
    ls_error err = { 0 };
    waiting_take w = { 0 };
    ls_infer_client_new(worker, 1, NULL, NULL, &w.blocker, &err);
    ls_infer_client_new(worker, 1, NULL, NULL, &w.client, &err);
    ls_infer_submit(w.blocker, &long_job, 0);
    ls_infer_submit(w.client, &queued, 0);
    pthread_t t;
    pthread_create(&t, NULL, take_waiting, &w);
    sleep_ms(5);
    ls_infer_client_close(w.client);
    pthread_join(t, NULL);
    printf("closed while a take waited: job taken cancelled %d with %d frames rendered, the long job "
           "%s\n", queued.cancelled, queued.inferred, w.blocker_in_flight ? "still rendering" : "done");
    CHECK(w.taken == &queued && queued.cancelled && queued.inferred == 0 && w.blocker_in_flight == 1,
          "closing did not wake the waiting take at once (cancelled %d, %d rendered, long job in flight %d)",
          queued.cancelled, queued.inferred, w.blocker_in_flight);
    CHECK(ls_infer_take(w.blocker, 1) == &long_job && long_job.inferred == LONG_JOB,
          "the long job: %d frames", long_job.inferred);
    ls_infer_client_free(w.client);
    ls_infer_client_free(w.blocker);
    free(jobs.faces);
}

static void test_back_pressure_and_cancel(void)
{
    enum { N = 8 };
    test_jobs jobs;
    make_jobs(&jobs, 3, (const int[]){ N, N, N });
    ls_infer_job a = jobs.job[0], b = jobs.job[1], c = jobs.job[2];
    ls_error err = { 0 };
    ls_infer_client *one, *two;
    ls_infer_client_new(worker, 1, NULL, NULL, &one, &err);
    ls_infer_client_new(worker, 2, NULL, NULL, &two, &err);

    /* bound 1: the second submit is refused while the first renders */
    CHECK(ls_infer_submit(one, &a, 0) == 0, "first submit refused");
    CHECK(ls_infer_submit(one, &b, 0) == 1, "a submit beyond the bound was accepted");
    CHECK(ls_infer_in_flight(one) <= 1, "in flight above the bound");
    CHECK(ls_infer_take(one, 1) == &a && a.inferred == N, "job a: %d frames", a.inferred);
    CHECK(ls_infer_submit(one, &b, 0) == 0, "submit refused after a job finished");

    /* cancel: c queues behind b (8 frames, 2 batches); cancelled at once, it renders nothing */
    CHECK(ls_infer_submit(two, &c, 0) == 0, "submit refused");
    ls_infer_cancel(two, &c);
    CHECK(ls_infer_take(two, 1) == &c && c.cancelled && c.inferred == 0,
          "cancelled job: %d frames rendered", c.inferred);
    CHECK(ls_infer_take(one, 1) == &b && b.inferred == N && !b.cancelled, "job b");

    /* a closed client (its session closing): its queued job and any job it submits later are
       cancelled, rendering nothing, and a take waiting on one wakes; other clients go on */
    CHECK(ls_infer_submit(one, &b, 0) == 0, "submit refused");
    CHECK(ls_infer_submit(two, &c, 0) == 0, "submit refused");
    ls_infer_client_close(two);
    CHECK(ls_infer_take(two, 1) == &c && c.cancelled && c.inferred == 0,
          "closed client's queued job: %d frames rendered", c.inferred);
    CHECK(ls_infer_submit(two, &c, 0) == 0, "a closed client's submit refused");
    CHECK(ls_infer_take(two, 1) == &c && c.cancelled && c.inferred == 0,
          "job submitted after closing: %d frames rendered", c.inferred);
    CHECK(ls_infer_take(one, 1) == &b && b.inferred == N && !b.cancelled, "job b beside a closed client");
    closing_wakes_a_waiting_take();

    /* a client freed with jobs queued: they are cancelled, nothing hangs */
    ls_infer_submit(two, &a, 0);
    ls_infer_submit(two, &c, 0);
    ls_infer_client_free(two);
    ls_infer_client_free(one);
    free(jobs.faces);
}

/* Frames skipped once their job is queued are not rendered (the second
 * half of a long job, skipped while its first batches render); the job
 * finishes with the rest rendered. */
static void test_skip_frames(void)
{
    test_jobs jobs;
    make_jobs(&jobs, 1, (const int[]){ LONG_JOB });
    ls_infer_job job = jobs.job[0];
    ls_error err = { 0 };
    ls_infer_client *client;
    ls_infer_client_new(worker, 1, NULL, NULL, &client, &err);
    ls_infer_submit(client, &job, 0);
    for (int i = LONG_JOB / 2; i < LONG_JOB; i++)
        ls_infer_skip_frame(client, &job, i);
    CHECK(ls_infer_take(client, 1) == &job, "the job did not come back");
    printf("skipped the second half of a %d-frame job while it rendered: %d frames rendered\n", LONG_JOB,
           job.inferred);
    CHECK(job.inferred == LONG_JOB / 2 && !job.cancelled, "%d frames rendered, want %d", job.inferred,
          LONG_JOB / 2);
    ls_infer_client_free(client);
    free(jobs.faces);
}

/* Every batch since the warm-up fitted the memory it left. */
static void check_no_growth(const ls_infer_stats *started)
{
    ls_infer_stats st;
    ls_infer_worker_stats(worker, &st);
    printf("activation memory: %zu bytes after the warm-up, %zu after %lld batches; %lld growths\n",
           started->activation_bytes, st.activation_bytes, (long long)st.batches,
           (long long)st.activation_growths);
    CHECK(st.activation_growths == 0 && st.activation_bytes == started->activation_bytes,
          "batches after the warm-up grew the activation memory %lld times", (long long)st.activation_growths);
}

/* A worker without a warm-up allocates in its first batch, and says so. */
static void test_without_warm_up(const ls_infer_config *warmed)
{
    ls_infer_config cf = *warmed;
    cf.warm_up = 0;
    ls_error err = { 0 };
    ls_infer_worker *cold = NULL;
    ls_infer_client *client = NULL;
    CHECK(ls_infer_worker_new(model, &cf, &cold, &err) == 0, "%s", err.msg);
    if (!cold || ls_infer_client_new(cold, 1, NULL, NULL, &client, &err) != 0) {
        ls_infer_worker_free(cold);
        return;
    }
    test_jobs jobs;
    make_jobs(&jobs, 1, (const int[]){ BATCH });
    ls_infer_job job = jobs.job[0];
    ls_infer_stats st;
    ls_infer_worker_stats(cold, &st);
    CHECK(st.warm_up_s == 0 && st.activation_growths == 0, "a cold worker: warm-up %.3f s, %lld growths",
          st.warm_up_s, (long long)st.activation_growths);
    ls_infer_submit(client, &job, 1);
    ls_infer_take(client, 1);
    ls_infer_worker_stats(cold, &st);
    printf("without a warm-up: the first batch grew the activation memory %lld time(s), to %zu bytes\n",
           (long long)st.activation_growths, st.activation_bytes);
    CHECK(st.activation_growths > 0, "the first batch of a cold worker grew nothing");
    ls_infer_client_free(client);
    ls_infer_worker_free(cold);
    free(jobs.faces);
}

static void test_bad_config(void)
{
    ls_error err = { 0 };
    ls_infer_worker *w = NULL;
    ls_infer_config cf = { .batch_size = 2, .latent_channels = 8, .latent_height = 8,
                           .latent_width = 8, .tokens = 10, .dim = 384 };
    CHECK(ls_infer_worker_new(model, &cf, &w, &err) == -1 && !w, "a 384-wide chunk was accepted");
    printf("bad config: %s\n", err.msg);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_infer_worker MUSETALK_SMALL_DIR\n");
        return 2;
    }
    nn_set_threads(2);
    ls_error err = { 0 };
    if (ls_musetalk_load_dir(argv[1], LS_MUSETALK_V1, &model, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ls_infer_config cf = { .batch_size = BATCH, .latent_channels = 8, .latent_height = 8,
                           .latent_width = 8, .tokens = 10, .dim = 16, .warm_up = 1 };
    if (ls_infer_worker_new(model, &cf, &worker, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ls_infer_stats started;
    ls_infer_worker_stats(worker, &started);
    printf("warm-up: %.3f s\n", started.warm_up_s);
    CHECK(started.warm_up_s > 0 && started.frames == 0 && started.batches == 0,
          "warm-up %.3f s, %lld frames, %lld batches counted", started.warm_up_s,
          (long long)started.frames, (long long)started.batches);
    CHECK(started.activation_bytes > 0 && started.activation_growths == 0,
          "after the warm-up: %zu activation bytes, %lld growths", started.activation_bytes,
          (long long)started.activation_growths);
    CHECK(started.passes.direct == 0 && started.passes.replayed == 0,
          "the CPU recorded passes");
    int face_h, face_w;
    ls_infer_face_shape(worker, &face_h, &face_w);
    face_bytes = (int64_t)face_h * face_w * 3;
    CHECK(face_h == 64 && face_w == 64, "faces %dx%d, want 64x64", face_w, face_h);
    nn_ctx *ctx = nn_ctx_new(nn_backend_cpu());
    test_sessions(ctx);
    test_back_pressure_and_cancel();
    test_skip_frames();
    check_no_growth(&started);
    test_without_warm_up(&cf);
    test_bad_config();
    nn_ctx_free(ctx);
    ls_infer_worker_free(worker);
    ls_musetalk_free(model);
    return check_result("test_infer_worker");
}
