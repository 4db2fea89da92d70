# ig_warnings / ig_sanitizers: flags every imagegate target gets.
add_library(ig_warnings INTERFACE)
target_compile_options(ig_warnings INTERFACE -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
                       -Wshadow -Wnon-virtual-dtor -Wold-style-cast)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ has no narrower switch for the statement expressions in IG_TRY (decision 0001).
  target_compile_options(ig_warnings INTERFACE -Wno-pedantic)
  # g++ 12 at -O3 reports impossible std::string copies as overlapping (GCC bug 105329): a false
  # -Wrestrict inside libstdc++'s char_traits, not in our code (decision 0006).
  target_compile_options(ig_warnings INTERFACE -Wno-restrict)
else()
  target_compile_options(ig_warnings INTERFACE -Wno-gnu-statement-expression)
endif()
if(IG_WERROR)
  target_compile_options(ig_warnings INTERFACE -Werror)
endif()

add_library(ig_sanitizers INTERFACE)
if(IG_SANITIZE)
  target_compile_options(ig_sanitizers INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=all
                         -fno-omit-frame-pointer)
  target_link_options(ig_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# ig_library(NAME SRCS ... DEPS ...): one static library per layer; DEPS is the architecture.
function(ig_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(ig_${name} STATIC ${ARG_SRCS})
  add_library(ig::${name} ALIAS ig_${name})
  target_include_directories(ig_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ig_${name} PUBLIC ${ARG_DEPS} PRIVATE ig_warnings ig_sanitizers)
  target_link_libraries(ig_${name} INTERFACE ig_sanitizers)
endfunction()
