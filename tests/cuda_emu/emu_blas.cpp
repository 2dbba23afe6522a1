/*
 * emu_blas.cpp - the cuBLAS calls the backend makes, emulated on the CPU
 * (tests/cuda_emu): handles bound to a stream and a workspace, GemmEx and
 * GemmStridedBatchedEx with fp16, bf16 or fp32 matrices and fp32 computation.
 *
 * Each call is checked as cuBLAS documents its arguments (column-major
 * matrices, op(A) m x k, op(B) k x n, C m x n, leading dimensions at least
 * the stored rows) and, beyond cuBLAS, every matrix a call touches must lie
 * inside one device block, so a wrong leading dimension or stride is
 * reported instead of reading a neighbour's memory. The product itself is
 * queued on the handle's stream: the operands widened to float, OpenBLAS's
 * sgemm with the same transposes and leading dimensions, then only C's
 * m x n elements written back (rounded when C is fp16 or bf16): the gaps
 * between them may belong to other heads. With beta 0, C is not read.
 */
#include <cblas.h>
#include <cublas_v2.h>

#include <cstring>
#include <memory>
#include <vector>

#include "emu_internal.h"

struct cublasContext {
    cudaStream_t stream = nullptr;
    void *workspace = nullptr;
    size_t workspace_bytes = 0;
};

namespace {

typedef std::lock_guard<std::recursive_mutex> hold_lock;

emu::storage storage_of(cudaDataType t)
{
    return t == CUDA_R_16F    ? emu::storage::f16
           : t == CUDA_R_16BF ? emu::storage::bf16
           : t == CUDA_R_32F  ? emu::storage::f32
                              : emu::storage::none;
}

size_t element_bytes(cudaDataType t)
{
    return emu::element_bytes(storage_of(t));
}

/* A stored column-major matrix: rows x cols with leading dimension ld. */
struct matrix {
    const void *data;
    cudaDataType type;
    int64_t rows, cols, ld, stride;
};

int64_t extent(const matrix &a)
{
    return a.rows == 0 || a.cols == 0 ? 0 : a.ld * (a.cols - 1) + a.rows;
}

bool valid(const char *call, const char *name, const matrix &a, int batches)
{
    if (element_bytes(a.type) == 0) {
        fprintf(stderr, "cuBLAS emulator: %s: %s has an unemulated type %d\n", call, name,
                (int)a.type);
        return false;
    }
    if (a.ld < (a.rows > 1 ? a.rows : 1)) {
        fprintf(stderr, "cuBLAS emulator: %s: ld%s = %lld is less than its %lld rows\n", call,
                name, (long long)a.ld, (long long)a.rows);
        return false;
    }
    int64_t last = (int64_t)(batches - 1) * a.stride;
    size_t bytes = (size_t)extent(a) * element_bytes(a.type);
    if (bytes && (!emu::in_device_memory(a.data, bytes) ||
                  !emu::in_device_memory(static_cast<const char *>(a.data) +
                                             last * (int64_t)element_bytes(a.type),
                                         bytes)))
        emu::fail("cuBLAS %s: %s (%lld x %lld, ld %lld, stride %lld, %d batches) at %p is not "
                  "inside device memory",
                  call, name, (long long)a.rows, (long long)a.cols, (long long)a.ld,
                  (long long)a.stride, batches, a.data);
    return true;
}

std::vector<float> widen(const matrix &a, int64_t batch)
{
    std::vector<float> out((size_t)extent(a));
    size_t eb = element_bytes(a.type);
    const char *base = static_cast<const char *>(a.data) + batch * a.stride * (int64_t)eb;
    for (int64_t j = 0; j < a.cols; j++)
        for (int64_t i = 0; i < a.rows; i++)
            out[(size_t)(j * a.ld + i)] = emu::load_element(base, storage_of(a.type), j * a.ld + i);
    return out;
}

cublasStatus_t gemm(const char *call, cublasHandle_t h, cublasOperation_t ta,
                    cublasOperation_t tb, int m, int n, int k, const void *alpha, matrix a,
                    matrix b, const void *beta, matrix c, int batches,
                    cublasComputeType_t compute)
{
    hold_lock hold(emu::lock());
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (compute != CUBLAS_COMPUTE_32F || (ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) ||
        (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T) || m < 0 || n < 0 || k < 0 || batches < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    a.rows = ta == CUBLAS_OP_N ? m : k;
    a.cols = ta == CUBLAS_OP_N ? k : m;
    b.rows = tb == CUBLAS_OP_N ? k : n;
    b.cols = tb == CUBLAS_OP_N ? n : k;
    c.rows = m;
    c.cols = n;
    if (!valid(call, "A", a, batches) || !valid(call, "B", b, batches) ||
        !valid(call, "C", c, batches))
        return CUBLAS_STATUS_INVALID_VALUE;
    float al = *static_cast<const float *>(alpha), be = *static_cast<const float *>(beta);
    emu::enqueue(h->stream, [=] {
        for (int batch = 0; batch < batches; batch++) {
            std::vector<float> fa = widen(a, batch), fb = widen(b, batch);
            std::vector<float> fc = be != 0.0f ? widen(c, batch)
                                               : std::vector<float>((size_t)extent(c), 0.0f);
            if (m && n)
                cblas_sgemm(CblasColMajor, ta == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                            tb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, k, al,
                            fa.data(), (int)a.ld, fb.data(), (int)b.ld, be, fc.data(),
                            (int)c.ld);
            void *out = static_cast<char *>(const_cast<void *>(c.data)) +
                        batch * c.stride * (int64_t)element_bytes(c.type);
            for (int64_t j = 0; j < n; j++)
                for (int64_t i = 0; i < m; i++)
                    emu::store_element(out, storage_of(c.type), j * c.ld + i,
                                       fc[(size_t)(j * c.ld + i)]);
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}

} // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    *handle = new cublasContext;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream)
{
    handle->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t bytes)
{
    if (bytes && !emu::in_device_memory(workspace, bytes))
        emu::fail("cublasSetWorkspace: %zu bytes at %p are not device memory", bytes, workspace);
    handle->workspace = workspace;
    handle->workspace_bytes = bytes;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    return mode == CUBLAS_DEFAULT_MATH || mode == CUBLAS_TENSOR_OP_MATH ||
                   mode == CUBLAS_PEDANTIC_MATH || mode == CUBLAS_TF32_TENSOR_OP_MATH
               ? CUBLAS_STATUS_SUCCESS
               : CUBLAS_STATUS_INVALID_VALUE;
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS:
        return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
        return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE:
        return "CUBLAS_STATUS_INVALID_VALUE";
    default:
        return "CUBLAS_STATUS (unemulated)";
    }
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void *alpha,
                            const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo)
{
    return gemm("GemmEx", handle, transa, transb, m, n, k, alpha, { A, Atype, 0, 0, lda, 0 },
                { B, Btype, 0, 0, ldb, 0 }, beta, { C, Ctype, 0, 0, ldc, 0 }, 1, computeType);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long strideA, const void *B,
                                          cudaDataType Btype, int ldb, long long strideB,
                                          const void *beta, void *C, cudaDataType Ctype,
                                          int ldc, long long strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    return gemm("GemmStridedBatchedEx", handle, transa, transb, m, n, k, alpha,
                { A, Atype, 0, 0, lda, strideA }, { B, Btype, 0, 0, ldb, strideB }, beta,
                { C, Ctype, 0, 0, ldc, strideC }, batchCount, computeType);
}

} // extern "C"
