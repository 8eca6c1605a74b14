# A ctest check that needs both an exit status of 0 and some expected output, which ctest's
# PASS_REGULAR_EXPRESSION alone cannot say (it ignores the exit status):
#   cmake "-DEXPECT=<regex>" -P ExpectOutput.cmake -- <command> [arguments...]
# The command's stdout and stderr are matched together and echoed for --output-on-failure.
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/ScriptArguments.cmake)
script_arguments(command)

execute_process(COMMAND ${command}
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
list(JOIN command " " command)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "'${command}' exited with ${status}")
elseif(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "'${command}' succeeded but its output does not match '${EXPECT}'")
endif()
