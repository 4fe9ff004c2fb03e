# Shared steps of check-wheel.sh and check-bundle.sh; source it after defining `step`, `fail`,
# `tmp` and `seconds`. Each function takes the kickwatch executable to check.

# `kickwatch doctor` runs and passes.
smoke_doctor() {
    local kickwatch=$1 doctor rc
    step "kickwatch doctor"
    set +e
    doctor=$("$kickwatch" doctor 2>&1)
    rc=$?
    set -e
    echo "$doctor" | sed 's/^/  /'
    [ "$rc" -eq 0 ] || fail "kickwatch doctor exited $rc"
}

# The tray app started offscreen is still running after $seconds (timeout's 124 is success).
smoke_app_starts() {
    local kickwatch=$1 rc
    step "starting the app offscreen for ${seconds} s"
    set +e
    QT_QPA_PLATFORM=offscreen timeout "$seconds" "$kickwatch" >"$tmp/app.log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -ne 124 ]; then
        sed 's/^/  /' "$tmp/app.log" >&2
        fail "the app exited with $rc before ${seconds} s (expected to be still running)"
    fi
    step "the app was still running after ${seconds} s"
}
