# Writes the Swift file that SwiftPM's `.embedInCode` generates, for the CMake build:
#   struct PackageResources {
#   static let <file_name_ext>: [UInt8] = [...]
#   }
# one byte array per input file, sorted by name as SwiftPM does. Run at build time:
#   cmake -DOUTPUT=<file.swift> -P EmbedResources.cmake -- <input files...>
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/ScriptArguments.cmake)
script_arguments(inputs)
list(SORT inputs)

set(swift "struct PackageResources {\n")
foreach(input IN LISTS inputs)
  get_filename_component(name "${input}" NAME)
  string(MAKE_C_IDENTIFIER "${name}" name) # elementwise.cl -> elementwise_cl, as SwiftPM names it
  file(READ "${input}" hex HEX)
  # Hex literals rather than SwiftPM's decimal: the same [UInt8], and one regex instead of a
  # math(EXPR) per byte.
  string(REGEX REPLACE "(..)" "0x\\1," bytes "${hex}")
  string(APPEND swift "static let ${name}: [UInt8] = [${bytes}]\n")
endforeach()
string(APPEND swift "}\n")

# Rewrite only on change, so an unchanged kernel set does not recompile the module.
file(CONFIGURE OUTPUT "${OUTPUT}" CONTENT "${swift}" @ONLY)
