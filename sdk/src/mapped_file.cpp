#include "mapped_file.h"

#include "error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mnemo {

MappedFile::~MappedFile() {
    if (mapping_ != nullptr) munmap(mapping_, size_);
}

mnemo_status MappedFile::open(const std::string& path, bool use_mmap) {
    path_ = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failf(MNEMO_ERR_IO, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return failf(MNEMO_ERR_IO, "'%s' is not a regular file", path.c_str());
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ == 0) {
        ::close(fd);
        return failf(MNEMO_ERR_TRUNCATED, "'%s' is empty", path.c_str());
    }
    if (use_mmap) {
        void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED) return failf(MNEMO_ERR_IO, "cannot map '%s': %s", path.c_str(), std::strerror(errno));
        mapping_ = p;
        data_ = static_cast<const uint8_t*>(p);
        return MNEMO_OK;
    }
    try {
        buffer_.resize(size_);
    } catch (const std::bad_alloc&) {
        ::close(fd);
        return failf(MNEMO_ERR_OUT_OF_MEMORY, "cannot allocate %llu bytes to read '%s'",
                     static_cast<unsigned long long>(size_), path.c_str());
    }
    uint64_t done = 0;
    while (done < size_) {
        const ssize_t n = ::read(fd, buffer_.data() + done, size_ - done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            ::close(fd);
            return failf(MNEMO_ERR_IO, "cannot read '%s': %s", path.c_str(), n < 0 ? std::strerror(errno) : "unexpected end");
        }
        done += static_cast<uint64_t>(n);
    }
    ::close(fd);
    data_ = buffer_.data();
    return MNEMO_OK;
}

}  // namespace mnemo
