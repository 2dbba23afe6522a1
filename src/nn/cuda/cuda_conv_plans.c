/*
 * cuda_conv_plans.c - which cuDNN algorithm runs each convolution geometry:
 * chosen once per process, timed on the GPU, shared by every context.
 *
 * The first time a geometry (shape, padding, stride, element type) is met,
 * cuDNN's heuristics propose algorithms; those whose workspace fits
 * CUDA_CONV_WORKSPACE_MAX become the plan's choices, in the heuristics'
 * order. Outside a recording, the backend then times them on the real
 * input (up to CONV_TIMED of them, a warm-up run then CONV_TIMED_RUNS runs
 * between two events on the context's stream, into a scratch output so
 * that y, which may hold a residual, is untouched) and orders them fastest
 * first, as PyTorch's cudnn.benchmark does: the heuristics' first proposal
 * is not always the fastest. A proposal that the forward call refuses as
 * not supported is dropped (the heuristics can propose one), there or when
 * the convolution runs (cuda_conv_refused); any other failure stops the
 * program with its reason (check_refusal). A geometry left without any
 * algorithm runs as im2col + GEMM (cuda_conv.c), logged once. A geometry first
 * met while a stream is captured (nothing may be timed then) keeps the
 * heuristics' order until it runs outside a recording.
 *
 * The plans live in one array under a mutex, looked up linearly (a few
 * hundred geometries: the UNet, VAE and whisper at each batch size); callers
 * get copies, never pointers into it. Timing runs outside the lock; a
 * thread that finds the plan stored meanwhile keeps the stored one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cuda/cuda_backend.h"
#include "nn/cuda/cuda_internal.h"

#define CONV_TIMED 4        /* proposals timed per geometry, the heuristics' first */
#define CONV_TIMED_RUNS 3   /* timed runs of each, after one warm-up run */

typedef struct conv_plan {
    int key[CUDA_CONV_KEY_LEN];
    cuda_conv_choice choices[CUDA_CONV_CHOICES];
    int n_choices;
    int timed;       /* the choices are ordered by their time on the GPU */
    int refused;     /* proposals the timing found cuDNN refuses to run */
    int reordered;   /* the fastest is not the first proposal that runs */
    int gemm;        /* no choice is left: im2col + GEMM (mark_gemm) */
} conv_plan;

static pthread_mutex_t plans_lock = PTHREAD_MUTEX_INITIALIZER;
static conv_plan *plans;
static int n_plans, plans_capacity;
static nn_cuda_conv_stats stats;

/* The plan of key, under plans_lock; NULL when there is none. */
static conv_plan *stored_plan(const int key[CUDA_CONV_KEY_LEN])
{
    for (int i = 0; i < n_plans; i++)
        if (memcmp(plans[i].key, key, sizeof plans[i].key) == 0)
            return &plans[i];
    return NULL;
}

/* The plan has no choice left (cuDNN proposed none that fits, or refused
 * every one): from now on the geometry runs as im2col + GEMM (cuda_conv.c).
 * Counted and logged once per geometry, under plans_lock. */
static void mark_gemm(conv_plan *p)
{
    if (p->gemm || p->n_choices > 0)
        return;
    p->gemm = 1;
    stats.gemm++;
    const int *key = p->key;
    fprintf(stderr,
            "lipstream: cuDNN runs no algorithm for x (%d, %d, %d, %d) -> %d channels, %dx%d kernel, pad "
            "(%d, %d), stride (%d, %d): computed as im2col + cuBLAS GEMM\n",
            key[1], key[2], key[3], key[4], key[5], key[6], key[7], key[8], key[9], key[10], key[11]);
}

/* A forward call failed: cuDNN refusing the algorithm for this geometry
 * (CUDNN_STATUS_NOT_SUPPORTED and its sub-codes) is the one failure that
 * another algorithm can mend; it clears CUDA's error state and returns.
 * Anything else (a bad parameter, an execution or allocation failure, a
 * sub-library that did not load) stops the program with cuDNN's and CUDA's
 * reasons, instead of dropping good algorithms one by one. */
static void check_refusal(const int key[CUDA_CONV_KEY_LEN], cudnnStatus_t status)
{
    cudaError_t cuda = cudaGetLastError();
    if (CUDNN_STATUS_CATEGORY(status) == CUDNN_STATUS_NOT_SUPPORTED)
        return;
    fprintf(stderr,
            "lipstream: cuDNN: cudnnConvolutionForward of x (%d, %d, %d, %d) -> %d channels, %dx%d kernel: "
            "%s (CUDA: %s)\n",
            key[1], key[2], key[3], key[4], key[5], key[6], key[7], cudnnGetErrorString(status),
            cudaGetErrorString(cuda));
    abort();
}

/* The heuristics' proposals for the geometry set in s's descriptors. */
static void propose(cuda_ctx *s, conv_plan *p)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    DNN_OK(cudnnSetConvolutionMathType(s->conv_desc, CUDNN_TENSOR_OP_MATH));   /* allowed */
    DNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(s->dnn, s->x_desc, s->w_desc, s->conv_desc,
                                                  s->y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                  &found, perf));
    p->n_choices = 0;
    for (int i = 0; i < found && p->n_choices < CUDA_CONV_CHOICES; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= CUDA_CONV_WORKSPACE_MAX)
            p->choices[p->n_choices++] = (cuda_conv_choice){
                .algo = perf[i].algo, .math = perf[i].mathType, .workspace = perf[i].memory
            };
}

static int capturing(cuda_ctx *s)
{
    enum cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(s->queue.stream, &status) != cudaSuccess) {
        cudaGetLastError();
        return 1;   /* unknown: do nothing a capture forbids */
    }
    return status != cudaStreamCaptureStatusNone;
}

/* Milliseconds of one run of choice c (x, w into y_scratch), or a negative
 * value when cuDNN refuses to run it (check_refusal). */
static float time_choice(cuda_ctx *s, const int key[CUDA_CONV_KEY_LEN], const cuda_conv_choice *c,
                         const void *x, const void *w, void *y_scratch, void *workspace,
                         cudaEvent_t start, cudaEvent_t stop)
{
    float one = 1.0f, zero = 0.0f, ms = 0.0f;
    DNN_OK(cudnnSetConvolutionMathType(s->conv_desc, c->math));
    for (int run = 0; run <= CONV_TIMED_RUNS; run++) {
        if (run == 1)
            CUDA_OK(cudaEventRecord(start, s->queue.stream));
        cudnnStatus_t status = cudnnConvolutionForward(s->dnn, &one, s->x_desc, x, s->w_desc, w, s->conv_desc,
                                                       c->algo, workspace, c->workspace, &zero, s->y_desc,
                                                       y_scratch);
        if (status != CUDNN_STATUS_SUCCESS) {
            check_refusal(key, status);
            CUDA_OK(cudaStreamSynchronize(s->queue.stream));   /* the runs queued before */
            return -1.0f;
        }
    }
    CUDA_OK(cudaEventRecord(stop, s->queue.stream));
    CUDA_OK(cudaEventSynchronize(stop));
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    return ms / CONV_TIMED_RUNS;
}

/* Times p's first CONV_TIMED choices, drops those that fail to run and
 * orders the rest fastest first. Leaves p untimed when the scratch memory
 * cannot be had (a full GPU: the heuristics' order then). */
static void time_plan(cuda_ctx *s, conv_plan *p, const void *x, const void *w, size_t y_bytes)
{
    int n = p->n_choices < CONV_TIMED ? p->n_choices : CONV_TIMED;
    size_t workspace = 0, y_room = (y_bytes + 255) & ~(size_t)255;
    for (int i = 0; i < n; i++)
        workspace = p->choices[i].workspace > workspace ? p->choices[i].workspace : workspace;
    char *scratch = NULL;
    cudaEvent_t start = NULL, stop = NULL;
    if (cudaMalloc((void **)&scratch, y_room + workspace) != cudaSuccess ||
        cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess) {
        cudaGetLastError();
        if (start)
            cudaEventDestroy(start);
        if (scratch)
            cudaFree(scratch);
        return;
    }
    cuda_conv_choice first_ran = { 0 }, kept[CUDA_CONV_CHOICES];
    float ms[CUDA_CONV_CHOICES];
    int n_kept = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        float t = time_choice(s, p->key, &p->choices[i], x, w, scratch, scratch + y_room, start, stop);
        if (t < 0.0f) {
            refused++;
            continue;
        }
        if (n_kept == 0)
            first_ran = p->choices[i];
        int at = n_kept++;   /* insertion into the order by time */
        for (; at > 0 && ms[at - 1] > t; at--) {
            ms[at] = ms[at - 1];
            kept[at] = kept[at - 1];
        }
        ms[at] = t;
        kept[at] = p->choices[i];
    }
    p->reordered = n_kept > 0 && (kept[0].algo != first_ran.algo ||
                                  kept[0].math != first_ran.math);
    for (int i = n; i < p->n_choices; i++)   /* the untimed rest, after them */
        kept[n_kept++] = p->choices[i];
    memcpy(p->choices, kept, sizeof kept[0] * (size_t)n_kept);
    p->n_choices = n_kept;
    p->timed = 1;
    p->refused = refused;
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    CUDA_OK(cudaFree(scratch));
}

static void count_plan(const conv_plan *p)
{
    stats.timed += p->timed;
    stats.refused += p->refused;
    stats.reordered += p->reordered;
}

/* Stores p (replacing an untimed plan of its key), under plans_lock. */
static void store_plan(const conv_plan *p)
{
    conv_plan *old = stored_plan(p->key);
    if (old) {
        if (!old->timed) {
            int gemm = old->gemm;
            *old = *p;
            old->gemm = gemm;
            count_plan(p);
            mark_gemm(old);
        }
        return;
    }
    if (n_plans == plans_capacity) {
        int capacity = plans_capacity ? 2 * plans_capacity : 64;
        conv_plan *grown = realloc(plans, sizeof *plans * (size_t)capacity);
        NN_CHECK(grown != NULL, "out of memory for cuDNN convolution plans");
        plans = grown;
        plans_capacity = capacity;
    }
    plans[n_plans++] = *p;
    stats.geometries++;
    count_plan(p);
    mark_gemm(&plans[n_plans - 1]);
}

static cuda_conv_choice first_choice(const conv_plan *p)
{
    return p->n_choices > 0 ? p->choices[0] : (cuda_conv_choice){ .gemm = 1 };
}

cuda_conv_choice cuda_conv_choose(cuda_ctx *s, const int key[CUDA_CONV_KEY_LEN], const void *x,
                                  const void *w, size_t y_bytes)
{
    int can_time = !capturing(s);
    pthread_mutex_lock(&plans_lock);
    const conv_plan *found = stored_plan(key);
    conv_plan plan;
    if (found && (found->timed || !can_time)) {
        plan = *found;
        pthread_mutex_unlock(&plans_lock);
        return first_choice(&plan);
    }
    pthread_mutex_unlock(&plans_lock);

    plan = (conv_plan){ .timed = 0 };
    memcpy(plan.key, key, sizeof plan.key);
    propose(s, &plan);
    if (can_time && plan.n_choices > 0)
        time_plan(s, &plan, x, w, y_bytes);
    pthread_mutex_lock(&plans_lock);
    store_plan(&plan);
    plan = *stored_plan(key);
    pthread_mutex_unlock(&plans_lock);
    return first_choice(&plan);
}

void cuda_conv_refused(const int key[CUDA_CONV_KEY_LEN], cuda_conv_choice refused,
                       cudnnStatus_t why)
{
    check_refusal(key, why);
    pthread_mutex_lock(&plans_lock);
    conv_plan *p = stored_plan(key);
    if (p) {
        int left = 0;
        for (int i = 0; i < p->n_choices; i++)
            if (p->choices[i].algo != refused.algo || p->choices[i].math != refused.math)
                p->choices[left++] = p->choices[i];
        if (left < p->n_choices)
            stats.refused++;
        p->n_choices = left;
        mark_gemm(p);
    }
    pthread_mutex_unlock(&plans_lock);
}

nn_cuda_conv_stats nn_cuda_conv_stats_now(void)
{
    pthread_mutex_lock(&plans_lock);
    nn_cuda_conv_stats now = stats;
    pthread_mutex_unlock(&plans_lock);
    return now;
}
