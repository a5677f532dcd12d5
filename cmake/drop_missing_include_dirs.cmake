# drop_missing_include_dirs(): make the ROS 2 wheels from PyPI usable by CMake.
#
# Those wheels export CMake targets whose include directories name the Python
# of the machine that built them (for example
# /opt/python/cp311-cp311/include/python3.11). CMake refuses imported targets
# with missing include directories, so drop such entries: the generator adds
# this machine's Python and NumPy headers itself. A no-op on a normal install.
# Call it after the find_package() calls, in the directory that made them.
function(drop_missing_include_dirs)
  get_directory_property(_imported_targets IMPORTED_TARGETS)
  foreach(_target IN LISTS _imported_targets)
    get_target_property(_include_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _include_dirs)
      continue()
    endif()
    set(_kept_dirs "")
    set(_dropped_dirs "")
    foreach(_dir IN LISTS _include_dirs)
      if(_dir MATCHES "^\\$<" OR EXISTS "${_dir}")
        list(APPEND _kept_dirs "${_dir}")
      else()
        list(APPEND _dropped_dirs "${_dir}")
      endif()
    endforeach()
    if(_dropped_dirs)
      message(STATUS "${_target}: ignoring missing include directories ${_dropped_dirs}")
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kept_dirs}")
    endif()
  endforeach()
endfunction()
