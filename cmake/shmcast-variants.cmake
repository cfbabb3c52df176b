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
#     [LINK_OPTIONS <flags>...])     PUBLIC link options

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

function(shmcast_add_library_variant)
  cmake_parse_arguments(PARSE_ARGV 0 arg "STATIC;SHARED;INTERNAL" "NAME"
                        "SOURCES;DEFINITIONS;OPTIONS;PRIVATE_OPTIONS;LINK_OPTIONS")
  if(NOT arg_NAME)
    message(FATAL_ERROR "shmcast_add_library_variant: NAME is required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "shmcast_add_library_variant(${arg_NAME}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SOURCES)
    set(arg_SOURCES ${SHMCAST_SOURCES})
  endif()
  # Relative to the project root, wherever the variant is declared.
  set(sources)
  foreach(file IN LISTS arg_SOURCES)
    if(NOT IS_ABSOLUTE "${file}")
      set(file "${SHMCAST_ROOT_DIR}/${file}")
    endif()
    list(APPEND sources "${file}")
  endforeach()
  set(type)
  if(arg_STATIC)
    set(type STATIC)
  elseif(arg_SHARED)
    set(type SHARED)
  endif()

  add_library(${arg_NAME} ${type} ${sources})
  # SHMCAST_LIBRARY_VARIANT: the top-level CMakeLists.txt optimises the library's own code
  # in the ASan + UBSan build, and not the code around it.
  set_target_properties(${arg_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON SHMCAST_LIBRARY_VARIANT ON)
  target_compile_features(${arg_NAME} PUBLIC cxx_std_20)
  # (Installed: cmake/install-rules.cmake's INCLUDES DESTINATION.)
  target_include_directories(${arg_NAME} PUBLIC $<BUILD_INTERFACE:${SHMCAST_ROOT_DIR}/include>)
  # Build-only dependencies stay out of the installed package's link interface.
  target_link_libraries(${arg_NAME}
    PUBLIC Threads::Threads
    PRIVATE Boost::headers rt $<BUILD_INTERFACE:shmcast_warnings> $<BUILD_INTERFACE:shmcast_src_warnings>)
  if(arg_INTERNAL)
    target_include_directories(${arg_NAME} PUBLIC ${SHMCAST_ROOT_DIR}/src)
    target_link_libraries(${arg_NAME} PUBLIC Boost::headers shmcast_warnings)
  else()
    target_include_directories(${arg_NAME} PRIVATE ${SHMCAST_ROOT_DIR}/src)
  endif()
  if(SHMCAST_HAVE_ALIGN_LOOPS)
    target_compile_options(${arg_NAME} PRIVATE -falign-loops=32)
  endif()
  if(arg_DEFINITIONS)
    target_compile_definitions(${arg_NAME} PUBLIC ${arg_DEFINITIONS})
  endif()
  if(arg_OPTIONS)
    target_compile_options(${arg_NAME} PUBLIC ${arg_OPTIONS})
  endif()
  if(arg_PRIVATE_OPTIONS)
    target_compile_options(${arg_NAME} PRIVATE ${arg_PRIVATE_OPTIONS})
  endif()
  if(arg_LINK_OPTIONS)
    target_link_options(${arg_NAME} PUBLIC ${arg_LINK_OPTIONS})
  endif()
endfunction()
