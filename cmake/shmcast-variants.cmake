# One definition of how the library is compiled, for every build of it: the shipped
# library (shmcast::shmcast), the fault-injection variant the crash tests link
# (shmcast_hooked, tests/CMakeLists.txt) and the libFuzzer variant (shmcast_fuzzlib,
# tests/fuzz/CMakeLists.txt). Include directories, dependencies, warnings and code
# alignment are written here once; a variant only says what differs.
#
#   shmcast_add_library_variant(NAME <target>
#     [STATIC|SHARED]        default: BUILD_SHARED_LIBS decides, as for add_library()
#     [INTERNAL]             src/ is a PUBLIC include directory and the project's warnings
#                            reach the variant's users (in-tree test variants); otherwise
#                            src/ stays private, as in the installed library
#     [SOURCES <files>...]   default: SHMCAST_SOURCES (paths relative to the project root)
#     [DEFINITIONS <defs>...]        PUBLIC compile definitions
#     [OPTIONS <flags>...]           PUBLIC compile options (they must reach the users too,
#                                    e.g. sanitizers)
#     [PRIVATE_OPTIONS <flags>...]   compile options of the library's own sources only
#     [LINK_OPTIONS <flags>...]      PUBLIC link options
#     [REUSE_OBJECTS <variant>])     compile only SHMCAST_HOOKED_SOURCES; take the other
#                                    sources' objects from <variant>, an earlier variant of
#                                    the whole library. Only for a variant that differs from
#                                    it by DEFINITIONS those sources never read (the test
#                                    hooks' SHMCAST_TEST_HOOKS).
#
# A variant of the whole library (no SOURCES) compiles the sources without test hook
# points into an object library of its own, <target>_hookless, which a later variant may
# reuse: the fault-injection variant then compiles five files instead of twenty, in each
# of CI's three builds. Which files have hook points is SHMCAST_HOOKED_SOURCES' to say; a
# configure-time check refuses a hook point anywhere else, so a reused object can never be
# one that should have had hooks compiled in.

include_guard(GLOBAL)
include(CheckCXXCompilerFlag)

# The project root, for the variants declared in subdirectories too.
get_filename_component(SHMCAST_ROOT_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

# Warnings for the project's own targets only (a consumer's flags are theirs).
if(NOT TARGET shmcast_warnings)
  add_library(shmcast_warnings INTERFACE)
  target_compile_options(shmcast_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
endif()

# Stricter warnings for the library's own sources (src/), in every variant, and not for
# tools, tests or bench: the library converts between sizes, lengths and sequences all
# the time, and each narrowing there should be written out. Warnings, not errors.
if(NOT TARGET shmcast_src_warnings)
  add_library(shmcast_src_warnings INTERFACE)
  target_compile_options(shmcast_src_warnings INTERFACE -Wconversion -Wsign-conversion)
endif()

# Loops start on a 32-byte boundary, so the payload copies' speed does not depend on where
# unrelated edits happen to place them (bench/README.md, "Loop alignment").
check_cxx_compiler_flag(-falign-loops=32 SHMCAST_HAVE_ALIGN_LOOPS)

# Small fixed-size zero-fills as SSE stores. GCC's generic tuning clears anything of 64
# bytes or more, such as the 96-byte ReadResult each read returns, with `rep stosq`,
# whose start-up cost was half of an idle try_read on the project's VM (bench/README.md,
# "Zero-fills"); up to 256 bytes are cleared with a loop of 16-byte stores, anything
# larger by memset.
check_cxx_compiler_flag("-mmemset-strategy=vector_loop:256:noalign,libcall:-1:noalign" SHMCAST_HAVE_MEMSET_STRATEGY)

# Source paths relative to the project root, wherever a variant is declared, made absolute.
function(_shmcast_rooted out)
  set(files)
  foreach(file IN LISTS ARGN)
    if(NOT IS_ABSOLUTE "${file}")
      set(file "${SHMCAST_ROOT_DIR}/${file}")
    endif()
    list(APPEND files "${file}")
  endforeach()
  set(${out} ${files} PARENT_SCOPE)
endfunction()

function(shmcast_add_library_variant)
  cmake_parse_arguments(PARSE_ARGV 0 arg "STATIC;SHARED;INTERNAL" "NAME;REUSE_OBJECTS"
                        "SOURCES;DEFINITIONS;OPTIONS;PRIVATE_OPTIONS;LINK_OPTIONS")
  if(NOT arg_NAME)
    message(FATAL_ERROR "shmcast_add_library_variant: NAME is required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "shmcast_add_library_variant(${arg_NAME}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(arg_REUSE_OBJECTS AND (arg_SOURCES OR NOT TARGET ${arg_REUSE_OBJECTS}_hookless))
    message(FATAL_ERROR "shmcast_add_library_variant(${arg_NAME}): REUSE_OBJECTS needs an earlier variant of the "
                        "whole library, and no SOURCES")
  endif()
  set(targets ${arg_NAME})  # what the settings below apply to
  set(objects)
  if(arg_SOURCES)
    _shmcast_rooted(sources ${arg_SOURCES})
  else()
    _shmcast_rooted(sources ${SHMCAST_HOOKED_SOURCES})
    _shmcast_rooted(hookless ${SHMCAST_SOURCES})
    list(REMOVE_ITEM hookless ${sources})
    if(arg_REUSE_OBJECTS)
      set(objects $<TARGET_OBJECTS:${arg_REUSE_OBJECTS}_hookless>)
    else()
      file(GLOB headers "${SHMCAST_ROOT_DIR}/src/*.hpp")
      list(REMOVE_ITEM headers "${SHMCAST_ROOT_DIR}/src/test_hooks.hpp")
      foreach(file IN LISTS hookless headers)
        file(STRINGS "${file}" hook_points REGEX "SHMCAST_TEST_HOOKS|test_hooks\\.hpp|SHMCAST_[A-Z_]+_HOOK")
        if(hook_points)
          message(FATAL_ERROR "${file} has test hook points: list it (or the sources that include it) in "
                              "SHMCAST_HOOKED_SOURCES (CMakeLists.txt)")
        endif()
      endforeach()
      add_library(${arg_NAME}_hookless OBJECT ${hookless})
      list(APPEND targets ${arg_NAME}_hookless)
      set(objects $<TARGET_OBJECTS:${arg_NAME}_hookless>)
    endif()
  endif()
  set(type)
  if(arg_STATIC)
    set(type STATIC)
  elseif(arg_SHARED)
    set(type SHARED)
  endif()
  add_library(${arg_NAME} ${type} ${sources} ${objects})

  foreach(target IN LISTS targets)
    # SHMCAST_LIBRARY_VARIANT: the library's own code, which the ASan + UBSan build (the
    # top-level CMakeLists.txt) and the release build's tests (tests/CMakeLists.txt)
    # optimise apart from the code around it.
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON SHMCAST_LIBRARY_VARIANT ON)
    target_compile_features(${target} PUBLIC cxx_std_20)
    # (Installed: cmake/install-rules.cmake's INCLUDES DESTINATION.)
    target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${SHMCAST_ROOT_DIR}/include>)
    # Build-only dependencies stay out of the installed package's link interface.
    target_link_libraries(${target}
      PUBLIC Threads::Threads
      PRIVATE Boost::headers rt $<BUILD_INTERFACE:shmcast_warnings> $<BUILD_INTERFACE:shmcast_src_warnings>)
    if(arg_INTERNAL)
      target_include_directories(${target} PUBLIC ${SHMCAST_ROOT_DIR}/src)
      target_link_libraries(${target} PUBLIC Boost::headers shmcast_warnings)
    else()
      target_include_directories(${target} PRIVATE ${SHMCAST_ROOT_DIR}/src)
    endif()
    if(SHMCAST_HAVE_ALIGN_LOOPS)
      target_compile_options(${target} PRIVATE -falign-loops=32)
    endif()
    if(SHMCAST_HAVE_MEMSET_STRATEGY)
      target_compile_options(${target} PRIVATE "-mmemset-strategy=vector_loop:256:noalign,libcall:-1:noalign")
    endif()
    if(arg_DEFINITIONS)
      target_compile_definitions(${target} PUBLIC ${arg_DEFINITIONS})
    endif()
    if(arg_OPTIONS)
      target_compile_options(${target} PUBLIC ${arg_OPTIONS})
    endif()
    if(arg_PRIVATE_OPTIONS)
      target_compile_options(${target} PRIVATE ${arg_PRIVATE_OPTIONS})
    endif()
    if(arg_LINK_OPTIONS)
      target_link_options(${target} PUBLIC ${arg_LINK_OPTIONS})
    endif()
  endforeach()
endfunction()
