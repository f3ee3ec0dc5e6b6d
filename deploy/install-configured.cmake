# SPDX-License-Identifier: Apache-2.0
# Run by `cmake --install` (install(CODE) in CMakeLists.txt): writes the
# systemd units, the installed configuration and keys-init from their
# templates with the paths of the prefix being installed to, which
# `cmake --install --prefix P` may set only now, after the build. So the
# units' ExecStart is P/bin/traction-..., the config's keys and state are
# under P (with the prefix /usr: /etc and /var, as GNUInstallDirs has it).
# tests/install/prefix.sh checks it. Set by the caller: TRC_SRC, TRC_BIN,
# TRC_DIRS (pairs NAME;relative-or-absolute dir), TRC_UNITDIR.

# A directory of GNUInstallDirs made absolute for this prefix: an absolute
# one stays; etc and var of the prefix /usr are /etc and /var.
function(trc_full out rel special)
  if(IS_ABSOLUTE "${rel}")
    set(v "${rel}")
  elseif(special AND CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(v "/${rel}")
  else()
    set(v "${CMAKE_INSTALL_PREFIX}/${rel}")
  endif()
  set(${out} "${v}" PARENT_SCOPE)
endfunction()

while(TRC_DIRS)
  list(POP_FRONT TRC_DIRS name rel)
  set(special FALSE)
  if(name STREQUAL "SYSCONFDIR" OR name STREQUAL "LOCALSTATEDIR")
    set(special TRUE)
  endif()
  trc_full(CMAKE_INSTALL_FULL_${name} "${rel}" ${special})
endwhile()
set(TRACTION_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/traction")
trc_full(unitdir "${TRC_UNITDIR}" FALSE)

# one file from its template, under DESTDIR
function(trc_put template dest)
  message(STATUS "Installing (configured): $ENV{DESTDIR}${dest}")
  configure_file("${template}" "$ENV{DESTDIR}${dest}" @ONLY)
endfunction()

file(GLOB units "${TRC_SRC}/deploy/systemd/*.in")
foreach(t ${units})
  get_filename_component(unit "${t}" NAME_WLE)
  trc_put("${t}" "${unitdir}/${unit}")
endforeach()
trc_put("${TRC_SRC}/deploy/traction-system.conf.in" "${TRACTION_CONFDIR}/traction.conf")
# keys_dir of that config: the public keys and the users (keys-init fills it)
file(MAKE_DIRECTORY "$ENV{DESTDIR}${TRACTION_CONFDIR}/keys")
trc_put("${TRC_SRC}/deploy/keys-init.sh.in" "${CMAKE_INSTALL_FULL_LIBEXECDIR}/traction/keys-init")
file(CHMOD "$ENV{DESTDIR}${CMAKE_INSTALL_FULL_LIBEXECDIR}/traction/keys-init"
     PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                 WORLD_READ WORLD_EXECUTE)
