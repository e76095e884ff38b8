# The picture layer (src/picture/, docs/picture.md): seal pictures from scans and standard seals
# drawn from the unit's name. Decoding through libjpeg(-turbo) and libpng, scaling and drawing
# through cairo (pixman's filters) and pango (fontconfig, the CJK fonts of fonts-noto-cjk).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ESEAL_CAIRO REQUIRED IMPORTED_TARGET cairo>=1.14)
pkg_check_modules(ESEAL_PANGO REQUIRED IMPORTED_TARGET pangocairo>=1.44 fontconfig)
pkg_check_modules(ESEAL_PNG REQUIRED IMPORTED_TARGET libpng>=1.6)
pkg_check_modules(ESEAL_JPEG REQUIRED IMPORTED_TARGET libjpeg)
eseal_layer_link(picture PkgConfig::ESEAL_CAIRO PkgConfig::ESEAL_PANGO PkgConfig::ESEAL_PNG
                 PkgConfig::ESEAL_JPEG m)
