# check_layers.cmake -- STYLE.md rule 1, run by ctest as core.layers:
#   - nothing under core/ includes Python.h or any Python header;
#   - tests/core/ (and bench/, if present) include only the public
#     heapgraph.h from the core, never the internal hg_internal.h.
# Usage: cmake -DROOT=<source dir> -P check_layers.cmake
set(_bad "")
file(GLOB_RECURSE _core_files ${ROOT}/core/*.c ${ROOT}/core/*.h)
foreach(f IN LISTS _core_files)
  file(STRINGS ${f} _hits REGEX "#[ \t]*include[ \t]*[<\"](Python|py[a-z_]*)\\.h")
  if(_hits)
    list(APPEND _bad "${f}: ${_hits}")
  endif()
endforeach()
file(GLOB_RECURSE _user_files
  ${ROOT}/tests/core/*.c ${ROOT}/tests/core/*.h
  ${ROOT}/bench/*.c ${ROOT}/bench/*.cc ${ROOT}/bench/*.cpp ${ROOT}/bench/*.h)
foreach(f IN LISTS _user_files)
  file(STRINGS ${f} _hits REGEX "#[ \t]*include[ \t]*[<\"]hg_internal\\.h")
  if(_hits)
    list(APPEND _bad "${f}: ${_hits}")
  endif()
endforeach()
if(_bad)
  string(REPLACE ";" "\n  " _msg "${_bad}")
  message(FATAL_ERROR "layer rule broken (STYLE.md rule 1):\n  ${_msg}")
endif()
message(STATUS "layers ok: core/ has no Python include, users see only heapgraph.h")
