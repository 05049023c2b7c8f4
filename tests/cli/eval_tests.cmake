# `mnemo eval` (included from tests/CMakeLists.txt after bench_tests.cmake, which defines the
# tiny attention model). The sample builder and scorer are unit-tested in test_eval_tasks;
# here the command runs as a user would, and its JSON is checked (no timings).
add_executable(test_eval_tasks cli/test_eval_tasks.cpp)
target_link_libraries(test_eval_tasks PRIVATE mnemo_eval_tasks mnemo_internal mnemo_kernels_cpu mnemo_warnings GTest::gtest_main)
target_compile_definitions(test_eval_tasks PRIVATE MNEMO_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(test_eval_tasks DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES)

set(_eval_check ${CMAKE_CURRENT_SOURCE_DIR}/cli/check_eval.cmake)
set(_bundled ${PROJECT_SOURCE_DIR}/models/lalte-18m/lalte-18m-q8_0.gguf)
set(_all_suites "niah-single-repeat|niah-single|niah-single-uuid|niah-multikey|mqar|passkey")

add_test(NAME cli.eval_help COMMAND mnemo_cli eval --help)
set_tests_properties(cli.eval_help PROPERTIES PASS_REGULAR_EXPRESSION "Usage: mnemo eval.*--suites.*--lengths.*--json")

# The tiny laLTE model (byte tokenizer): every suite, two samples at 1K.
add_test(NAME cli.eval_tiny_json
  COMMAND ${CMAKE_COMMAND} -DMNEMO=$<TARGET_FILE:mnemo_cli> "-DARGS=${TINY_MODEL}|--lengths|1K|--samples|2|--threads|2|--json"
          -DMODE=json -DLENGTHS=1024 "-DSUITES=${_all_suites}" -P ${_eval_check})
set_tests_properties(cli.eval_tiny_json PROPERTIES FIXTURES_REQUIRED tiny_model)

# The bundled model (the real SentencePiece tokenizer): every suite at 512 tokens, the
# committed held-out haystack.
# Under the sanitizers one sample per suite (the 18M model runs ~20x slower there).
set(_bundled_samples 2)
if(MNEMO_SANITIZE)
  set(_bundled_samples 1)
endif()
if(EXISTS ${_bundled})
  add_test(NAME cli.eval_bundled_json
    COMMAND ${CMAKE_COMMAND} -DMNEMO=$<TARGET_FILE:mnemo_cli>
            "-DARGS=${_bundled}|--lengths|512|--samples|${_bundled_samples}|--threads|2|--backend|cpu|--json|--haystack|${PROJECT_SOURCE_DIR}/models/eval/haystack.txt"
            -DMODE=json -DLENGTHS=512 -DSAMPLES=${_bundled_samples} "-DSUITES=${_all_suites}" -P ${_eval_check})
endif()

# A full-attention model (state grows with the length) under a 2 MiB limit: 1K runs, 64K is
# skipped with the reason (its session would need ~37 MB), exit 0.
add_test(NAME cli.eval_skips_lengths_over_memory
  COMMAND ${CMAKE_COMMAND} -DMNEMO=$<TARGET_FILE:mnemo_cli>
          "-DARGS=-m|${_bench_dir}/tiny_attn.gguf|--suites|passkey,mqar|--lengths|1K,64K|--samples|2|--max-memory|2M|--json|--threads|2"
          -DMODE=json "-DLENGTHS=1024|65536" "-DSUITES=passkey|mqar" -DSKIPPED=65536 -P ${_eval_check})
set_tests_properties(cli.eval_skips_lengths_over_memory PROPERTIES FIXTURES_REQUIRED tiny_attn)

# --max-seconds 0: no sample starts; every length is reported as skipped for the time limit,
# exit 0 (a deadline-bound run still writes its JSON).
add_test(NAME cli.eval_time_limit_skips_what_it_cannot_start
  COMMAND ${CMAKE_COMMAND} -DMNEMO=$<TARGET_FILE:mnemo_cli>
          "-DARGS=${TINY_MODEL}|--suites|passkey,mqar|--lengths|1K,2K|--samples|2|--max-seconds|0|--json|--threads|2"
          -DMODE=json "-DLENGTHS=1024|2048" "-DSUITES=passkey|mqar" "-DSKIPPED=1024|2048"
          "-DREASON=^time limit: --max-seconds 0 reached before this length$" -P ${_eval_check})
set_tests_properties(cli.eval_time_limit_skips_what_it_cannot_start PROPERTIES FIXTURES_REQUIRED tiny_model)

# Errors: nonzero exit and a message that says what to do.
foreach(case
    "unknown_suite|${TINY_MODEL}|--suites|niah-single,bogus@unknown suite 'bogus'"
    "bad_length|${TINY_MODEL}|--lengths|1K,abc@--lengths needs token counts"
    "too_short|${TINY_MODEL}|--lengths|100@length 100 is too short for"
    "missing_model|/nonexistent/model.gguf@cannot open the model '/nonexistent/model.gguf'"
    "missing_haystack|${TINY_MODEL}|--haystack|/nonexistent/hay.txt@cannot open the haystack"
    "no_model|--lengths|1K@give the model"
    "bad_samples|${TINY_MODEL}|--samples|0@--samples needs a count"
    "bad_max_seconds|${TINY_MODEL}|--max-seconds|-1@--max-seconds needs a number of seconds >= 0")
  string(REPLACE "@" ";" parts "${case}")
  list(GET parts 0 argv)
  list(GET parts 1 expect)
  string(REPLACE "|" ";" argv "${argv}")
  list(POP_FRONT argv name)
  string(REPLACE ";" "|" argv "${argv}")
  add_test(NAME cli.eval_error_${name}
    COMMAND ${CMAKE_COMMAND} -DMNEMO=$<TARGET_FILE:mnemo_cli> "-DARGS=${argv}" -DMODE=error "-DEXPECT=${expect}" -P ${_eval_check})
  set_tests_properties(cli.eval_error_${name} PROPERTIES FIXTURES_REQUIRED tiny_model)
endforeach()

# The samples against training/data/retrieval.py itself (its TEMPLATES, FILLER, WORDS and
# layout), through `mnemo eval --show`: catches drift between the C++ and the Python.
find_program(MNEMO_PYTHON3 NAMES python3)
if(MNEMO_PYTHON3)
  add_test(NAME cli.eval_layout_matches_retrieval_py
    COMMAND ${MNEMO_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/cli/check_eval_layout.py $<TARGET_FILE:mnemo_cli> ${TINY_MODEL} ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli.eval_layout_matches_retrieval_py PROPERTIES FIXTURES_REQUIRED tiny_model
    PASS_REGULAR_EXPRESSION "6 suites checked against retrieval.py, 0 failures")
  if(EXISTS ${_bundled})
    add_test(NAME cli.eval_layout_matches_retrieval_py_bundled
      COMMAND ${MNEMO_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/cli/check_eval_layout.py $<TARGET_FILE:mnemo_cli> ${_bundled} ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.eval_layout_matches_retrieval_py_bundled PROPERTIES
      PASS_REGULAR_EXPRESSION "6 suites checked against retrieval.py, 0 failures")
  endif()
endif()

# A model converted without a tokenizer: the error names the fix.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/data/golden/gdn/config.json)
  set(_notok ${CMAKE_CURRENT_BINARY_DIR}/eval_no_tokenizer.gguf)
  add_test(NAME fixture.eval_no_tokenizer_model COMMAND mnemo_cli convert ${CMAKE_CURRENT_SOURCE_DIR}/data/golden/gdn ${_notok})
  set_tests_properties(fixture.eval_no_tokenizer_model PROPERTIES FIXTURES_SETUP eval_no_tokenizer)
  add_test(NAME cli.eval_error_no_tokenizer
    COMMAND ${CMAKE_COMMAND} -DMNEMO=$<TARGET_FILE:mnemo_cli> "-DARGS=${_notok}|--lengths|1K" -DMODE=error
            "-DEXPECT=no usable tokenizer.*--tokenizer models/tokenizer/mnemo-8k.model" -P ${_eval_check})
  set_tests_properties(cli.eval_error_no_tokenizer PROPERTIES FIXTURES_REQUIRED eval_no_tokenizer)
endif()
