#include "spectro/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace spectro {

int default_jobs() { return std::max(1u, std::thread::hardware_concurrency()); }

void parallel_for_workers(std::size_t count, int jobs, const std::function<void(std::size_t, int)>& fn) {
    if (jobs <= 0) jobs = default_jobs();
    const std::size_t workers = std::min<std::size_t>(std::size_t(jobs), count);
    if (workers <= 1) {
        for (std::size_t i = 0; i < count; ++i) fn(i, 0);
        return;
    }
    std::atomic<std::size_t> next{0};
    auto work = [&](int worker) {
        for (std::size_t i = next++; i < count; i = next++) fn(i, worker);
    };
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(work, int(t));
    work(0);
    for (auto& t : threads) t.join();
}

void parallel_for(std::size_t count, int jobs, const std::function<void(std::size_t)>& fn) {
    parallel_for_workers(count, jobs, [&](std::size_t i, int) { fn(i); });
}

}  // namespace spectro
