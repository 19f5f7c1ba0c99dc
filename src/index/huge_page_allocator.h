// A std::allocator for the index's large arrays: anonymous memory aligned to 2 MiB and marked
// MADV_HUGEPAGE, so random probes into a multi-gigabyte index miss the TLB far less often (the
// kernel falls back to normal pages where transparent huge pages are off). Small requests use
// the ordinary heap.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <vector>

namespace vigil::index {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr std::size_t kHuge = std::size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocator conversion

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return static_cast<T*>(::operator new(bytes));
    const std::size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
    // Over-map by one huge page so the start can be aligned.
    void* raw = ::mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    auto base = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (base + kHuge - 1) & ~(kHuge - 1);
    if (aligned > base) ::munmap(raw, aligned - base);
    const std::uintptr_t end = base + len + kHuge;
    if (end > aligned + len) ::munmap(reinterpret_cast<void*>(aligned + len), end - (aligned + len));
    ::madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
    return reinterpret_cast<T*>(aligned);
  }
  void deallocate(T* p, std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHuge) {
      ::operator delete(p);
      return;
    }
    ::munmap(p, (bytes + kHuge - 1) / kHuge * kHuge);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

// A vector of the index's large arrays, on huge pages where the kernel grants them.
template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace vigil::index
