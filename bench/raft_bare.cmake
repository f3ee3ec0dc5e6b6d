# SPDX-License-Identifier: Apache-2.0
# trc-raft-bare (bench/raft_bare.h): the bare 3-node C-Raft loop, built
# only when libraft and libuv are found. Both bench/ (its rows in
# bench/compare.sh) and tests/cluster/ (its nodes in the namespace test,
# built also when the benchmarks are not, as in the sanitizer passes)
# include this; the first defines the target.
if(RAFT_FOUND AND UV_FOUND AND NOT TARGET trc-raft-bare)
  add_executable(trc-raft-bare ${CMAKE_CURRENT_LIST_DIR}/raft_bare.c
                 ${CMAKE_CURRENT_LIST_DIR}/raft_bare_drive.c)
  target_link_libraries(trc-raft-bare PRIVATE PkgConfig::RAFT PkgConfig::UV)
  target_compile_options(trc-raft-bare PRIVATE ${TRACTION_WARNINGS})
  set_target_properties(trc-raft-bare PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()
