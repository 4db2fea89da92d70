// MBR, EBR chains, BSD disklabels in FreeBSD slices and GPT over arbitrary bytes.

#include "fuzz/fuzz_input.h"
#include "volumes/partition_table.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ig::fuzz::InputSource disk(data, size);
  ig::PartitionLimits limits;
  limits.max_gpt_entry_array_bytes = 64 * 1024;
  auto table = ig::read_partition_table(disk, limits);
  if (table) {
    for (const auto& p : table->partitions) {
      (void)p.type_name.size();
      for (const auto& b : p.bsd_partitions) (void)ig::bsd_partition_name(p, b);
    }
  }
  return 0;
}
