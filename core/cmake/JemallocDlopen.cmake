# hg_check_jemalloc_dlopen(<var>): set cache <var> to TRUE if a shared
# library linking ${HG_JEMALLOC_LIB} can be dlopen'ed after process start
# (what `import` of a Python extension does), FALSE otherwise.  Debian's
# libjemalloc.so.2 is built with initial-exec TLS and fails with "cannot
# allocate memory in static TLS block"; such a jemalloc is fine for
# executables (tests, benchmarks) but not for the extension module.
function(hg_check_jemalloc_dlopen out_var)
  if(DEFINED ${out_var})
    return()
  endif()
  set(_ok FALSE)
  set(_dir ${CMAKE_BINARY_DIR}/CMakeFiles/hg_jemalloc_dlopen)
  file(MAKE_DIRECTORY ${_dir})
  file(WRITE ${_dir}/probe.c
    "#include <jemalloc/jemalloc.h>\n"
    "void *hg_probe(void) {\n"
    "    void *p = mallocx(64, 0);\n"
    "    if (p) { sdallocx(p, 64, 0); }\n"
    "    return p;\n"
    "}\n")
  if(NOT CMAKE_CROSSCOMPILING)
    execute_process(
      COMMAND ${CMAKE_C_COMPILER} -shared -fPIC -I${HG_JEMALLOC_INCLUDE}
              ${_dir}/probe.c -o ${_dir}/libhgprobe.so ${HG_JEMALLOC_LIB}
      RESULT_VARIABLE _cc_rc OUTPUT_QUIET ERROR_QUIET)
    if(_cc_rc EQUAL 0)
      try_run(_run_rc _compile_ok ${_dir}/loader
        ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/jemalloc_dlopen_check.c
        LINK_LIBRARIES ${CMAKE_DL_LIBS}
        RUN_OUTPUT_VARIABLE _run_out
        ARGS ${_dir}/libhgprobe.so)
      if(_compile_ok AND "${_run_rc}" STREQUAL "0")
        set(_ok TRUE)
      else()
        string(STRIP "${_run_out}" _run_out)
        message(STATUS "heapgraph: dlopen of a jemalloc-linked library: "
                       "${_run_out}")
      endif()
    endif()
  endif()
  set(${out_var} ${_ok} CACHE INTERNAL "jemalloc usable from a dlopen'ed module")
endfunction()
