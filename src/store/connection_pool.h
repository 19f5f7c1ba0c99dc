// A fixed pool of SQL connections. Acquire blocks until one is free; the lease returns it.
// A PostgreSQL connection that was lost is reset before it is handed out again.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "store/sql_connection.h"

namespace vigil::store {

class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<SqlConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) pool_->Release(std::move(connection_));
    }
    SqlConnection& operator*() const { return *connection_; }
    SqlConnection* operator->() const { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<SqlConnection> connection_;
  };

  explicit ConnectionPool(std::vector<std::unique_ptr<SqlConnection>> connections)
      : free_(std::move(connections)) {}

  Lease Acquire() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [this] { return !free_.empty(); });
    auto connection = std::move(free_.back());
    free_.pop_back();
    lock.unlock();
    connection->Healthy();
    return Lease(this, std::move(connection));
  }

 private:
  void Release(std::unique_ptr<SqlConnection> connection) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(std::move(connection));
    }
    available_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqlConnection>> free_;
};

}  // namespace vigil::store
