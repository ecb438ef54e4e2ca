#pragma once
// A small pool for "one task per file" work: tasks are taken in index order by `jobs` threads.
// Each task must catch its own errors; results go to per-index slots, so output does not depend
// on the number of threads.
#include <cstddef>
#include <functional>

namespace spectro {

// jobs <= 0 means one per hardware thread. fn(index) runs exactly once per index.
void parallel_for(std::size_t count, int jobs, const std::function<void(std::size_t)>& fn);
// The same, also telling which worker (0 .. jobs-1) runs the task, so each worker can own
// per-thread state such as a network.
void parallel_for_workers(std::size_t count, int jobs, const std::function<void(std::size_t, int)>& fn);
int default_jobs();

}  // namespace spectro
