# Accounts: argon2id password hashing (libargon2, Debian's libargon2-dev).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)
eseal_layer_link(svc PkgConfig::ARGON2)
