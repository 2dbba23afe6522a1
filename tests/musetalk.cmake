# MuseTalk networks: the UNet, the VAE, the live renderer and the `run` CLI,
# against the PyTorch reference tests/ref/musetalk_ref.py.
set(LS_MT_SMALL ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small)
add_test(NAME musetalk_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/musetalk_ref.py small ${LS_MT_SMALL})
set_tests_properties(musetalk_ref PROPERTIES FIXTURES_SETUP musetalk_small)

ls_test(test_musetalk test_musetalk.c)
add_test(NAME test_musetalk COMMAND test_musetalk ${LS_MT_SMALL})

ls_test(test_musetalk_cli test_musetalk_cli.c)
add_test(NAME test_musetalk_cli
         COMMAND test_musetalk_cli $<TARGET_FILE:lipstream> small ${LS_MT_SMALL})
set_tests_properties(test_musetalk test_musetalk_cli PROPERTIES FIXTURES_REQUIRED musetalk_small)

# Slow (label "slow"): the published sizes for one frame. The reference writes
# a 3.4 GB UNet checkpoint into the build tree; the cleanup test deletes it.
set(LS_MT_FULL ${CMAKE_CURRENT_BINARY_DIR}/musetalk_full)
add_test(NAME musetalk_full_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/musetalk_ref.py full ${LS_MT_FULL})
add_test(NAME test_musetalk_full
         COMMAND test_musetalk_cli $<TARGET_FILE:lipstream> full ${LS_MT_FULL})
add_test(NAME musetalk_full_cleanup COMMAND ${CMAKE_COMMAND} -E rm -rf ${LS_MT_FULL})
set_tests_properties(musetalk_full_ref PROPERTIES FIXTURES_SETUP musetalk_full)
set_tests_properties(test_musetalk_full PROPERTIES FIXTURES_REQUIRED musetalk_full)
set_tests_properties(musetalk_full_cleanup PROPERTIES FIXTURES_CLEANUP musetalk_full)
set_tests_properties(musetalk_full_ref test_musetalk_full musetalk_full_cleanup
                     PROPERTIES LABELS slow TIMEOUT 900)
