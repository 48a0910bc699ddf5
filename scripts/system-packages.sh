# Debian packages dcprod needs, and a function that installs the missing ones.
# Sourced by ./prepare and Tests/run; installs only when asked, and says what it installs.

DCPROD_BUILD_PACKAGES="pkg-config libcfitsio-dev wcslib-dev libmariadb-dev libsqlite3-dev libhdf5-dev"

# missing_packages PKG... : prints the packages of the list that are not installed.
missing_packages() {
    local missing=""
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $pkg"
        fi
    done
    echo "$missing"
}

# install_packages PKG... : installs the missing ones with apt-get, non-interactively.
install_packages() {
    local missing
    missing=$(missing_packages "$@")
    [ -z "$missing" ] && return 0
    echo "dcprod: installing missing Debian packages:$missing" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
}
