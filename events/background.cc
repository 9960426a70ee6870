#include "events/background.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace annals::events {

void run_in_background() {
  const sched_param idle{};
  if (sched_setscheduler(0, SCHED_IDLE, &idle) != 0) {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
  }
}

}  // namespace annals::events
