#pragma once
// Live handles and descriptors of an emulated library, so a destroyed or foreign one is reported
// as the library's "not initialized" / "bad parameter" status instead of being dereferenced.
#include <mutex>
#include <unordered_set>

namespace lvk_emu {

template <class T>
class Registry {
 public:
  T* create() {
    T* p = new T();
    std::lock_guard<std::mutex> lock(mutex_);
    live_.insert(p);
    return p;
  }
  // False when p is not live (never created, or destroyed already).
  bool destroy(T* p) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (live_.erase(p) == 0) return false;
    }
    delete p;
    return true;
  }
  bool alive(const T* p) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return p != nullptr && live_.count(const_cast<T*>(p)) != 0;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_set<T*> live_;
};

// One registry per type for the whole process; never destroyed, so handles may be released from
// static destructors in any order.
template <class T>
Registry<T>& registry() {
  static auto* r = new Registry<T>();
  return *r;
}

}  // namespace lvk_emu
