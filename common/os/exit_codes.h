#pragma once

// Every process exit code of the project, in one place (the README's "Signals and exit codes"
// table says the same for operators). What the service managers do with them:
//  - systemd (etc/systemd/codex-sub-proxy.service, Restart=on-failure): any non-zero exit of
//    the supervisor is restarted after RestartSec, except kExitConfig
//    (RestartPreventExitStatus=78): a bad configuration cannot fix itself.
//  - Docker / Compose (docker-compose.yml, restart: unless-stopped): the container is restarted
//    whatever the code, until an operator stops it; the code only shows in `docker ps -a` and
//    `docker inspect`. A configuration error therefore restarts, fails again, and backs off.
//  - The image's HEALTHCHECK runs `codex-sub-proxy-ctl status --quiet`: 0 is healthy, any other
//    ctl code unhealthy.
namespace cosp::common {

// codex-sub-proxy (the supervisor) and `codex-sub-proxy login`.
inline constexpr int kExitOk = 0;       // clean stop (graceful or fast), --help, --version, --check-config
inline constexpr int kExitFailure = 1;  // any other fatal error: address in use, another supervisor on the
                                        // control socket, a worker that cannot boot, a failed login
inline constexpr int kExitConfig = 78;  // EX_CONFIG (sysexits.h): the configuration cannot work; the
                                        // message names the option. Never restarted by systemd.

// codex-sub-proxy-worker. Only its supervisor reads these: a worker that exits with one of them
// while the supervisor is starting stops the supervisor (kExitConfig as kExitConfig, the other
// as kExitFailure); later they count as a crash and the slot is respawned with back-off.
inline constexpr int kExitWorkerUsage = 2;       // started by hand instead of by the supervisor
inline constexpr int kExitWorkerBootFailed = 3;  // no or bad configuration on the channel, or a fatal error
// (a worker whose upstream settings cannot work, e.g. an unreadable CA file, exits kExitConfig)

// codex-sub-proxy-ctl.
inline constexpr int kCtlExitHealthy = 0;     // status: healthy; another command, --help, --version: done
inline constexpr int kCtlExitDegraded = 1;    // status: degraded; or the supervisor refused / answered badly
inline constexpr int kCtlExitUsage = 2;       // bad command line
inline constexpr int kCtlExitNotRunning = 3;  // nothing answers on the control socket

}  // namespace cosp::common
