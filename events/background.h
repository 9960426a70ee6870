// CPU priority for work that must never delay request handling: digests of whole read models,
// chain verification, long exports, online rebuilds.
#pragma once

namespace annals::events {

// Puts the calling thread under SCHED_IDLE: it runs only on a core that nothing else wants, and a
// core it occupies still counts as idle when the kernel places a waking request thread (a thread
// at nice 19 does not: the waking thread queues behind another on a busy core instead). Where
// SCHED_IDLE is refused, the thread falls back to nice 19.
void run_in_background();

}  // namespace annals::events
