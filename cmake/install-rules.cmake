include(CMakePackageConfigHelpers)

install(TARGETS shmcast_shmcast EXPORT shmcastTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/shmcast DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(shmcast_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/shmcast)
install(EXPORT shmcastTargets NAMESPACE shmcast:: DESTINATION ${shmcast_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/shmcastConfig.cmake.in ${PROJECT_BINARY_DIR}/shmcastConfig.cmake
                              INSTALL_DESTINATION ${shmcast_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/shmcastConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/shmcastConfig.cmake ${PROJECT_BINARY_DIR}/shmcastConfigVersion.cmake
        DESTINATION ${shmcast_INSTALL_CMAKEDIR})
