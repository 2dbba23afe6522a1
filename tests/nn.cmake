# Operators of the CPU backend against PyTorch. Reference data: tests/ref/ops_ref.py.
set(LS_OPS_REF ${CMAKE_CURRENT_BINARY_DIR}/ops_ref)
add_test(NAME ops_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/ops_ref.py ${LS_OPS_REF})
set_tests_properties(ops_ref PROPERTIES FIXTURES_SETUP ops_ref)

ls_test(test_ops test_ops.c)
add_test(NAME test_ops COMMAND test_ops ${LS_OPS_REF})
set_tests_properties(test_ops PROPERTIES FIXTURES_REQUIRED ops_ref)

# The fused attention kernel's online softmax (src/nn/cuda/attention_math.h),
# run on the CPU against a direct softmax in double.
ls_test(test_attention_math test_attention_math.c)
add_test(NAME test_attention_math COMMAND test_attention_math)

# fp32 <-> fp16 on the host (src/nn/half.h), against an oracle that searches
# the table of all halves.
ls_test(test_half test_half.c)
add_test(NAME test_half COMMAND test_half)

# fp32 <-> bf16 on the host (src/nn/bfloat16.h), against the nearest-even oracle.
ls_test(test_bfloat16 test_bfloat16.c)
add_test(NAME test_bfloat16 COMMAND test_bfloat16)
