#!/usr/bin/env bash
# Sign, package and notarise Commonplace for macOS; runs on a macOS machine.
#
#   packaging/macos/build_pkg.sh
#
# Expects dist/Commonplace.app from
#   pyinstaller --noconfirm --distpath dist --workpath build/pyinstaller \
#       packaging/commonplace.spec
# and writes dist/Commonplace-VERSION.pkg, signed, notarised and stapled. It
# installs Commonplace.app into /Applications for every user.
#
# Environment (all required):
#   DEVELOPER_ID_APPLICATION  name of the "Developer ID Application: ..."
#                             certificate in the keychain, which signs the app
#   DEVELOPER_ID_INSTALLER    name of the "Developer ID Installer: ..."
#                             certificate, which signs the .pkg
#   APPLE_ID                  Apple ID of a member of the developer team
#   APPLE_TEAM_ID             the team's 10-character id
#   APPLE_APP_PASSWORD        an app-specific password of APPLE_ID, for notarytool
set -euo pipefail
cd "$(dirname "$0")/../.."

for variable in DEVELOPER_ID_APPLICATION DEVELOPER_ID_INSTALLER APPLE_ID \
    APPLE_TEAM_ID APPLE_APP_PASSWORD; do
  if [ -z "${!variable:-}" ]; then
    echo "$variable is not set: see the top of $0 for what it must contain." >&2
    exit 2
  fi
done

APP=dist/Commonplace.app
[ -d "$APP" ] || { echo "$APP not found: build it with PyInstaller first." >&2; exit 2; }
VERSION=$(python3 -c 'import app; print(app.__version__)')
ENTITLEMENTS=packaging/macos/entitlements.plist
COMPONENT=build/Commonplace-component.pkg
PRODUCT=dist/Commonplace-$VERSION.pkg

sign() {
  codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" \
    --sign "$DEVELOPER_ID_APPLICATION" "$@"
}

# Sign from the inside out: every library and executable first, then the
# bundle. codesign --deep would sign them without the entitlements.
echo "Signing the libraries and programs in $APP"
while IFS= read -r -d '' file; do
  if file -b "$file" | grep -q "Mach-O"; then
    sign "$file"
  fi
done < <(find "$APP/Contents" -type f \( -perm -u+x -o -name '*.so' -o -name '*.dylib' \) -print0)
sign "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"

echo "Building $PRODUCT"
mkdir -p build dist
pkgbuild --component "$APP" --install-location /Applications \
  --identifier app.commonplace.pkg --version "$VERSION" "$COMPONENT"
productbuild --package "$COMPONENT" --sign "$DEVELOPER_ID_INSTALLER" --timestamp \
  "$PRODUCT"

echo "Notarising $PRODUCT; notarytool waits until Apple returns the result"
xcrun notarytool submit "$PRODUCT" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
  --password "$APPLE_APP_PASSWORD" --wait
xcrun stapler staple "$PRODUCT"
spctl --assess --type install --verbose "$PRODUCT"
echo "Built $PRODUCT"
