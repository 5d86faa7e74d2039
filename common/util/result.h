#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/error/api_error.h"

namespace cosp::common {

// A value or an error, in the spirit of std::expected (C++23, which g++ 12 lacks).
// Pure functions return Result<T>; exceptions are caught at module edges and
// turned into one of these.
template <typename T, typename E = ApiError>
class Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(data_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const {
    assert(!ok());
    return std::get<1>(data_);
  }
  E&& takeError() {
    assert(!ok());
    return std::get<1>(std::move(data_));
  }

 private:
  std::variant<T, E> data_;
};

}  // namespace cosp::common
