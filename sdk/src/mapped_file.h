// A read-only view of a whole file: memory-mapped when asked (the default for
// models), else read into an owned buffer.
#pragma once

#include "mnemo/mnemo.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mnemo {

class MappedFile {
public:
    MappedFile() = default;
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    mnemo_status open(const std::string& path, bool use_mmap);

    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    void* mapping_ = nullptr;
    std::vector<uint8_t> buffer_;
};

}  // namespace mnemo
