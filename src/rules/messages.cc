#include "rules/messages.h"

#include <fmt/args.h>
#include <fmt/format.h>

#include <array>
#include <map>

namespace ig {
namespace {

using Texts = std::array<const char*, kLangCount>;  // en, zh, ja, id, pt

// clang-format off
const std::map<std::string_view, Texts>& table() {
  static const std::map<std::string_view, Texts> t = {
    // Check titles.
    {"title.format", {"Image format", "镜像格式", "イメージ形式", "Format citra", "Formato da imagem"}},
    {"title.virtual-size", {"Virtual size", "虚拟大小", "仮想サイズ", "Ukuran virtual", "Tamanho virtual"}},
    {"title.qcow2-size", {"Size as qcow2", "转换为 qcow2 后的大小", "qcow2 変換後のサイズ", "Ukuran sebagai qcow2", "Tamanho como qcow2"}},
    {"title.partition-table", {"Partition table", "分区表", "パーティションテーブル", "Tabel partisi", "Tabela de partições"}},
    {"title.partitions", {"Partitions", "分区", "パーティション", "Partisi", "Partições"}},
    {"title.root", {"Root partition", "根分区", "ルートパーティション", "Partisi root", "Partição raiz"}},
    {"title.os", {"Operating system", "操作系统", "オペレーティングシステム", "Sistem operasi", "Sistema operacional"}},
    {"title.architecture", {"Architecture", "架构", "アーキテクチャ", "Arsitektur", "Arquitetura"}},
    {"title.declared", {"Declared OS", "声明的操作系统", "申告する OS", "OS yang dinyatakan", "SO declarado"}},
    {"title.virtio", {"Virtio drivers", "Virtio 驱动", "Virtio ドライバー", "Driver virtio", "Drivers virtio"}},
    {"title.cloud-init", {"cloud-init", "cloud-init", "cloud-init", "cloud-init", "cloud-init"}},
    // Statuses.
    {"status.pass", {"pass", "通过", "合格", "lulus", "aprovado"}},
    {"status.warn", {"warning", "警告", "警告", "peringatan", "aviso"}},
    {"status.fail", {"fail", "失败", "不合格", "gagal", "reprovado"}},
    {"status.skipped", {"skipped", "跳过", "スキップ", "dilewati", "ignorado"}},
    // Verdicts.
    {"verdict.pass", {"The image meets every import rule.",
                      "该镜像符合全部导入要求。",
                      "このイメージはすべてのインポート要件を満たしています。",
                      "Citra ini memenuhi semua aturan impor.",
                      "A imagem atende a todas as regras de importação."}},
    {"verdict.fail", {"The import would fail with {0}: {1}",
                      "导入将失败，错误码 {0}：{1}",
                      "インポートはエラーコード {0} で失敗します: {1}",
                      "Impor akan gagal dengan {0}: {1}",
                      "A importação falharia com {0}: {1}"}},
    {"report.image", {"Image", "镜像", "イメージ", "Citra", "Imagem"}},
    {"report.advice", {"What to do", "处理建议", "対処方法", "Yang perlu dilakukan", "O que fazer"}},
    // format
    {"format.ok", {"{0}, a format the cloud accepts", "{0}，是云平台支持的格式", "{0}（クラウドが受け付ける形式）",
                   "{0}, format yang diterima cloud", "{0}, um formato aceito pela nuvem"}},
    {"format.iso", {"{0}: an ISO 9660 image, which qemu-img reads as raw", "{0}：ISO 9660 镜像，qemu-img 将其识别为 raw",
                    "{0}: ISO 9660 イメージ（qemu-img は raw として扱います）",
                    "{0}: citra ISO 9660, yang dibaca qemu-img sebagai raw",
                    "{0}: uma imagem ISO 9660, que o qemu-img lê como raw"}},
    {"format.unsupported", {"the file is a {0}, not RAW, VHD, QCOW2 or VMDK",
                            "该文件是 {0}，不是 RAW、VHD、QCOW2 或 VMDK 格式",
                            "このファイルは {0} であり、RAW・VHD・QCOW2・VMDK のいずれでもありません",
                            "berkas ini adalah {0}, bukan RAW, VHD, QCOW2, atau VMDK",
                            "o arquivo é {0}, não RAW, VHD, QCOW2 ou VMDK"}},
    {"format.refused", {"the image cannot be used: {0}", "无法使用该镜像：{0}", "このイメージは使用できません: {0}",
                        "citra tidak dapat digunakan: {0}", "a imagem não pode ser usada: {0}"}},
    // sizes
    {"vsize.ok", {"{0}, within the {1} limit", "{0}，未超过 {1} 上限", "{0}（上限 {1} 以内）",
                  "{0}, dalam batas {1}", "{0}, dentro do limite de {1}"}},
    {"vsize.fail", {"{0}, more than the {1} limit", "{0}，超过 {1} 上限", "{0}（上限 {1} を超えています）",
                    "{0}, melebihi batas {1}", "{0}, acima do limite de {1}"}},
    {"qsize.ok", {"{0} once converted to qcow2, within the {1} limit", "转换为 qcow2 后为 {0}，未超过 {1} 上限",
                  "qcow2 に変換すると {0}（上限 {1} 以内）", "{0} setelah dikonversi ke qcow2, dalam batas {1}",
                  "{0} após a conversão para qcow2, dentro do limite de {1}"}},
    {"qsize.fail", {"{0} once converted to qcow2, more than the {1} limit", "转换为 qcow2 后为 {0}，超过 {1} 上限",
                    "qcow2 に変換すると {0}（上限 {1} を超えています）",
                    "{0} setelah dikonversi ke qcow2, melebihi batas {1}",
                    "{0} após a conversão para qcow2, acima do limite de {1}"}},
    // partition table
    {"ptable.mbr", {"MBR", "MBR", "MBR", "MBR", "MBR"}},
    {"ptable.gpt", {"GPT partition table: the cloud reads only MBR, so it finds no partition (reported as PartitionNotPresent)",
                    "GPT 分区表：云平台只识别 MBR，因此找不到分区（按 PartitionNotPresent 报告）",
                    "GPT パーティションテーブル: クラウドは MBR のみを読むため、パーティションが見つかりません（PartitionNotPresent として報告）",
                    "tabel partisi GPT: cloud hanya membaca MBR sehingga tidak menemukan partisi (dilaporkan sebagai PartitionNotPresent)",
                    "tabela de partições GPT: a nuvem lê apenas MBR e não encontra nenhuma partição (relatado como PartitionNotPresent)"}},
    {"ptable.none", {"no partition table: the file holds a bare file system or no disk layout at all",
                     "没有分区表：文件中只有一个裸文件系统，或根本没有磁盘布局",
                     "パーティションテーブルがありません: ファイルシステム単体か、ディスク構造のないファイルです",
                     "tidak ada tabel partisi: berkas hanya berisi sistem berkas tanpa partisi atau tidak berisi tata letak disk",
                     "sem tabela de partições: o arquivo contém um sistema de arquivos sem partição ou nenhum layout de disco"}},
    {"ptable.damaged", {"the partition table cannot be read: {0}", "无法读取分区表：{0}", "パーティションテーブルを読み取れません: {0}",
                        "tabel partisi tidak dapat dibaca: {0}", "a tabela de partições não pode ser lida: {0}"}},
    // partitions
    {"parts.ok", {"{0} partition(s), all inside the image", "共 {0} 个分区，均在镜像范围内", "{0} 個のパーティション（すべてイメージ内に収まっています）",
                  "{0} partisi, semuanya di dalam citra", "{0} partição(ões), todas dentro da imagem"}},
    {"parts.empty", {"the partition table lists no partition", "分区表中没有任何分区", "パーティションテーブルにパーティションがありません",
                     "tabel partisi tidak berisi partisi apa pun", "a tabela de partições não lista nenhuma partição"}},
    {"parts.truncated", {"partition {0} ends at byte {1}, past the end of the {2}-byte disk: the image is incomplete (a truncated upload?)",
                         "分区 {0} 结束于第 {1} 字节，超出了 {2} 字节的磁盘末尾：镜像不完整（上传被截断？）",
                         "パーティション {0} は {1} バイト目で終わり、{2} バイトのディスクの末尾を超えています: イメージが不完全です（アップロードの途中切れ？）",
                         "partisi {0} berakhir pada byte {1}, melewati akhir disk {2} byte: citra tidak lengkap (unggahan terpotong?)",
                         "a partição {0} termina no byte {1}, além do fim do disco de {2} bytes: a imagem está incompleta (upload truncado?)"}},
    {"parts.boot-missing", {"/etc/fstab mounts /boot from {0}, which is not on this disk, and the root holds no kernel: the boot partition is missing",
                            "/etc/fstab 从 {0} 挂载 /boot，但该分区不在此磁盘上，根分区中也没有内核：缺少启动分区",
                            "/etc/fstab は /boot を {0} からマウントしますが、このディスクにはなく、ルートにもカーネルがありません: ブートパーティションがありません",
                            "/etc/fstab memasang /boot dari {0}, yang tidak ada di disk ini, dan root tidak berisi kernel: partisi boot hilang",
                            "/etc/fstab monta /boot a partir de {0}, que não está neste disco, e a raiz não contém kernel: falta a partição de boot"}},
    // root
    {"root.ok", {"{0}, {1}", "{0}，{1}", "{0}、{1}", "{0}, {1}", "{0}, {1}"}},
    {"root.iso", {"the file is an installer ISO, not the disk of an installed system",
                  "该文件是安装光盘 ISO，而不是已安装系统的磁盘",
                  "このファイルはインストーラー ISO であり、インストール済みシステムのディスクではありません",
                  "berkas ini adalah ISO pemasang, bukan disk dari sistem yang sudah terpasang",
                  "o arquivo é uma ISO de instalação, não o disco de um sistema instalado"}},
    {"root.iso-forced", {"an installer ISO, accepted because the import is forced", "安装光盘 ISO，因强制导入而被接受",
                         "インストーラー ISO（強制インポートのため受け付けられます）", "ISO pemasang, diterima karena impor dipaksa",
                         "uma ISO de instalação, aceita porque a importação é forçada"}},
    {"root.boot-only", {"{0} holds only /boot (kernels and boot loader); the root partition is not in the image",
                        "{0} 只包含 /boot（内核和引导程序），镜像中没有根分区",
                        "{0} には /boot（カーネルとブートローダー）しかなく、イメージにルートパーティションがありません",
                        "{0} hanya berisi /boot (kernel dan boot loader); partisi root tidak ada di citra",
                        "{0} contém apenas /boot (kernels e carregador de boot); a partição raiz não está na imagem"}},
    {"root.data-disk", {"file systems found ({0}), but none holds /etc with /usr or /bin: this is a data disk",
                        "找到文件系统（{0}），但都不包含 /etc 以及 /usr 或 /bin：这是数据盘",
                        "ファイルシステム（{0}）はありますが、/etc と /usr または /bin を含むものがありません: データディスクです",
                        "sistem berkas ditemukan ({0}), tetapi tidak ada yang berisi /etc dengan /usr atau /bin: ini disk data",
                        "sistemas de arquivos encontrados ({0}), mas nenhum contém /etc com /usr ou /bin: é um disco de dados"}},
    {"root.unreadable", {"no Linux root among the volumes imagegate reads; not read: {0}",
                         "在可读取的卷中没有找到 Linux 根分区；无法读取：{0}",
                         "読み取れるボリュームに Linux のルートがありません。読み取れないもの: {0}",
                         "tidak ada root Linux di antara volume yang dapat dibaca; tidak terbaca: {0}",
                         "nenhuma raiz Linux entre os volumes legíveis; não lidos: {0}"}},
    {"root.nothing", {"no file system on any volume: an empty or wrong file",
                      "所有卷上都没有文件系统：文件为空或上传了错误的文件",
                      "どのボリュームにもファイルシステムがありません: 空のファイルか、誤ったファイルです",
                      "tidak ada sistem berkas di volume mana pun: berkas kosong atau salah",
                      "nenhum sistema de arquivos em nenhum volume: arquivo vazio ou errado"}},
    // os
    {"os.named", {"{0} {1}", "{0} {1}", "{0} {1}", "{0} {1}", "{0} {1}"}},
    {"os.other", {"{0} is not in the cloud's list; it imports as Other Linux", "{0} 不在云平台支持列表中，将作为 Other Linux 导入",
                  "{0} はクラウドの一覧にないため、Other Linux としてインポートされます", "{0} tidak ada dalam daftar cloud; diimpor sebagai Other Linux",
                  "{0} não está na lista da nuvem; é importado como Other Linux"}},
    {"os.unknown", {"no os-release or release file; it imports as Other Linux", "没有 os-release 或发行版文件，将作为 Other Linux 导入",
                    "os-release もリリースファイルもないため、Other Linux としてインポートされます",
                    "tidak ada os-release atau berkas rilis; diimpor sebagai Other Linux",
                    "sem os-release nem arquivo de release; é importado como Other Linux"}},
    {"arch.ok", {"{0}", "{0}", "{0}", "{0}", "{0}"}},
    {"arch.unknown", {"no ELF program of a known architecture was found", "未找到已知架构的 ELF 程序",
                      "既知のアーキテクチャの ELF プログラムが見つかりません", "tidak ditemukan program ELF dengan arsitektur yang dikenal",
                      "nenhum programa ELF de arquitetura conhecida foi encontrado"}},
    // declared
    {"declared.ok", {"what you will declare matches the image", "将要声明的信息与镜像一致", "申告内容はイメージと一致しています",
                     "yang akan Anda nyatakan sesuai dengan citra", "o que você vai declarar corresponde à imagem"}},
    {"declared.type", {"you will declare OS {0}, but the image holds {1}", "将声明操作系统为 {0}，但镜像中是 {1}",
                       "OS を {0} と申告しますが、イメージの中身は {1} です", "Anda akan menyatakan OS {0}, tetapi citra berisi {1}",
                       "você vai declarar o SO {0}, mas a imagem contém {1}"}},
    {"declared.version", {"you will declare version {0}, but the image holds version {1}", "将声明版本为 {0}，但镜像中是 {1} 版本",
                          "バージョンを {0} と申告しますが、イメージのバージョンは {1} です",
                          "Anda akan menyatakan versi {0}, tetapi citra berisi versi {1}",
                          "você vai declarar a versão {0}, mas a imagem contém a versão {1}"}},
    {"declared.arch", {"you will declare architecture {0}, but the image is {1}", "将声明架构为 {0}，但镜像是 {1}",
                       "アーキテクチャを {0} と申告しますが、イメージは {1} です", "Anda akan menyatakan arsitektur {0}, tetapi citra adalah {1}",
                       "você vai declarar a arquitetura {0}, mas a imagem é {1}"}},
    // virtio
    {"virtio.ok", {"kernel {0} has virtio_blk, virtio_net and virtio_pci, with the boot modules in its initramfs",
                   "内核 {0} 具备 virtio_blk、virtio_net 和 virtio_pci，启动所需模块已在 initramfs 中",
                   "カーネル {0} には virtio_blk・virtio_net・virtio_pci があり、起動に必要なモジュールは initramfs に含まれています",
                   "kernel {0} memiliki virtio_blk, virtio_net, dan virtio_pci, dengan modul boot di initramfs-nya",
                   "o kernel {0} tem virtio_blk, virtio_net e virtio_pci, com os módulos de boot no initramfs"}},
    {"virtio.other-kernels", {"the default kernel {0} is ready; other installed kernels lack drivers: {1}",
                              "默认内核 {0} 满足要求；其他已安装内核缺少驱动：{1}",
                              "既定のカーネル {0} は要件を満たしています。ほかのカーネルにはドライバーがありません: {1}",
                              "kernel bawaan {0} siap; kernel lain yang terpasang tidak memiliki driver: {1}",
                              "o kernel padrão {0} está pronto; outros kernels instalados não têm os drivers: {1}"}},
    {"virtio.no-kernel", {"no kernel is installed (no /boot/vmlinuz-* and no /lib/modules/*)",
                          "未安装内核（没有 /boot/vmlinuz-*，也没有 /lib/modules/*）",
                          "カーネルがインストールされていません（/boot/vmlinuz-* も /lib/modules/* もありません）",
                          "tidak ada kernel yang terpasang (tidak ada /boot/vmlinuz-* dan /lib/modules/*)",
                          "nenhum kernel instalado (sem /boot/vmlinuz-* e sem /lib/modules/*)"}},
    {"virtio.absent", {"kernel {0}: {1} is neither built in nor available as a module",
                       "内核 {0}：{1} 既未编译进内核，也没有对应的模块",
                       "カーネル {0}: {1} は組み込みでもモジュールでもありません",
                       "kernel {0}: {1} tidak tertanam di kernel maupun tersedia sebagai modul",
                       "kernel {0}: {1} não está embutido nem disponível como módulo"}},
    {"virtio.module-missing", {"kernel {0}: {1} is configured as a module, but its file is missing from /lib/modules/{0}",
                               "内核 {0}：{1} 被配置为模块，但 /lib/modules/{0} 中缺少该模块文件",
                               "カーネル {0}: {1} はモジュールとして構成されていますが、/lib/modules/{0} にファイルがありません",
                               "kernel {0}: {1} dikonfigurasi sebagai modul, tetapi berkasnya tidak ada di /lib/modules/{0}",
                               "kernel {0}: {1} está configurado como módulo, mas o arquivo não existe em /lib/modules/{0}"}},
    {"virtio.not-in-initramfs", {"kernel {0}: the module {1} is on the disk but not in the initramfs {2}, so the root disk cannot be found at boot",
                                 "内核 {0}：模块 {1} 在磁盘上，但不在 initramfs {2} 中，启动时将找不到根磁盘",
                                 "カーネル {0}: モジュール {1} はディスク上にありますが initramfs {2} に含まれていないため、起動時にルートディスクが見つかりません",
                                 "kernel {0}: modul {1} ada di disk tetapi tidak ada di initramfs {2}, sehingga disk root tidak ditemukan saat boot",
                                 "kernel {0}: o módulo {1} está no disco, mas não no initramfs {2}, então o disco raiz não é encontrado no boot"}},
    {"virtio.no-initramfs", {"kernel {0}: {1} is a module and this kernel has no initramfs to load it at boot",
                             "内核 {0}：{1} 是模块，但该内核没有可在启动时加载它的 initramfs",
                             "カーネル {0}: {1} はモジュールですが、起動時に読み込む initramfs がありません",
                             "kernel {0}: {1} adalah modul dan kernel ini tidak memiliki initramfs untuk memuatnya saat boot",
                             "kernel {0}: {1} é um módulo e este kernel não tem initramfs para carregá-lo no boot"}},
    {"virtio.initramfs-unreadable", {"kernel {0}: the initramfs {1} cannot be read: {2}",
                                     "内核 {0}：无法读取 initramfs {1}：{2}",
                                     "カーネル {0}: initramfs {1} を読み取れません: {2}",
                                     "kernel {0}: initramfs {1} tidak dapat dibaca: {2}",
                                     "kernel {0}: o initramfs {1} não pode ser lido: {2}"}},
    // cloud-init
    {"cinit.ok", {"installed and enabled {0}", "已安装并启用 {0}", "インストール済みで有効 {0}", "terpasang dan aktif {0}",
                  "instalado e ativado {0}"}},
    {"cinit.missing", {"cloud-init is not installed", "未安装 cloud-init", "cloud-init がインストールされていません",
                       "cloud-init tidak terpasang", "o cloud-init não está instalado"}},
    {"cinit.disabled", {"cloud-init is installed but disabled: {0}", "已安装 cloud-init，但被禁用：{0}",
                        "cloud-init はインストールされていますが無効です: {0}", "cloud-init terpasang tetapi dinonaktifkan: {0}",
                        "o cloud-init está instalado, mas desativado: {0}"}},
    {"cinit.forced", {"not required: the import is forced", "不要求：强制导入", "不要: 強制インポートです",
                      "tidak diwajibkan: impor dipaksa", "não exigido: a importação é forçada"}},
    // Windows
    {"root.windows", {"Windows system volume on {0}, NTFS", "Windows 系统卷位于{0}，NTFS 文件系统",
                      "Windows のシステムボリューム: {0}（NTFS）", "Volume sistem Windows di {0}, NTFS",
                      "Volume de sistema do Windows em {0}, NTFS"}},
    {"parts.dynamic", {"a dynamic disk ({0}): the cloud reads only basic MBR disks (reported as PartitionNotPresent)",
                       "动态磁盘（{0}）：云平台只识别 MBR 基本磁盘（按 PartitionNotPresent 报告）",
                       "ダイナミックディスク（{0}）: クラウドは MBR のベーシックディスクのみを読みます（PartitionNotPresent として報告）",
                       "disk dinamis ({0}): cloud hanya membaca disk dasar MBR (dilaporkan sebagai PartitionNotPresent)",
                       "disco dinâmico ({0}): a nuvem lê apenas discos básicos MBR (relatado como PartitionNotPresent)"}},
    {"os.windows", {"{0}", "{0}", "{0}", "{0}", "{0}"}},
    {"os.windows-client", {"{0} is a client Windows; the cloud imports Windows Server 2008 to 2022 only (reported as InternalError)",
                           "{0} 是客户端版 Windows；云平台只支持导入 Windows Server 2008 至 2022（按 InternalError 报告）",
                           "{0} はクライアント版 Windows です。クラウドがインポートできるのは Windows Server 2008〜2022 のみです（InternalError として報告）",
                           "{0} adalah Windows klien; cloud hanya mengimpor Windows Server 2008 hingga 2022 (dilaporkan sebagai InternalError)",
                           "{0} é um Windows cliente; a nuvem importa apenas Windows Server 2008 a 2022 (relatado como InternalError)"}},
    {"os.windows-unknown", {"{0} (build {1}) is not a Windows Server release the cloud supports (2008 to 2022; reported as InternalError)",
                            "{0}（内部版本 {1}）不是云平台支持的 Windows Server 版本（2008 至 2022；按 InternalError 报告）",
                            "{0}（ビルド {1}）はクラウドがサポートする Windows Server（2008〜2022）ではありません（InternalError として報告）",
                            "{0} (build {1}) bukan rilis Windows Server yang didukung cloud (2008 hingga 2022; dilaporkan sebagai InternalError)",
                            "{0} (build {1}) não é uma versão do Windows Server suportada pela nuvem (2008 a 2022; relatado como InternalError)"}},
    {"virtio.win-ok", {"{0} (storage) starts at boot, and netkvm (network) is installed",
                       "{0}（存储驱动）随系统启动加载，netkvm（网络驱动）已安装",
                       "{0}（ストレージ）はブート時に開始され、netkvm（ネットワーク）もインストールされています",
                       "{0} (penyimpanan) dimulai saat boot, dan netkvm (jaringan) terpasang",
                       "{0} (armazenamento) inicia no boot, e o netkvm (rede) está instalado"}},
    {"virtio.win-storage-missing", {"no virtio storage driver: neither viostor nor vioscsi is installed",
                                    "没有 virtio 存储驱动：viostor 和 vioscsi 均未安装",
                                    "virtio ストレージドライバーがありません: viostor も vioscsi もインストールされていません",
                                    "tidak ada driver penyimpanan virtio: viostor maupun vioscsi tidak terpasang",
                                    "nenhum driver de armazenamento virtio: nem viostor nem vioscsi está instalado"}},
    {"virtio.win-no-service", {"{0}.sys is in System32\\drivers but is not registered as a service in {1}",
                               "{0}.sys 位于 System32\\drivers，但未在 {1} 中注册为服务",
                               "{0}.sys は System32\\drivers にありますが、{1} にサービスとして登録されていません",
                               "{0}.sys ada di System32\\drivers tetapi tidak terdaftar sebagai layanan di {1}",
                               "{0}.sys está em System32\\drivers, mas não está registrado como serviço em {1}"}},
    {"virtio.win-no-file", {"the {0} service is registered but its driver file {1} is missing",
                            "已注册 {0} 服务，但缺少驱动文件 {1}",
                            "{0} サービスは登録されていますが、ドライバーファイル {1} がありません",
                            "layanan {0} terdaftar tetapi berkas driver {1} tidak ada",
                            "o serviço {0} está registrado, mas o arquivo do driver {1} não existe"}},
    {"virtio.win-not-boot", {"the {0} storage driver has Start={1}, not 0 (boot): Windows cannot find its system disk",
                             "{0} 存储驱动的 Start={1}，而不是 0（引导启动）：Windows 将找不到系统盘",
                             "ストレージドライバー {0} の Start は {1} で、0（ブート）ではありません: Windows はシステムディスクを見つけられません",
                             "driver penyimpanan {0} memiliki Start={1}, bukan 0 (boot): Windows tidak dapat menemukan disk sistemnya",
                             "o driver de armazenamento {0} tem Start={1}, não 0 (boot): o Windows não encontra o disco de sistema"}},
    {"virtio.win-netkvm-missing", {"the virtio network driver netkvm is not installed (missing: {0})",
                                   "未安装 virtio 网络驱动 netkvm（缺少：{0}）",
                                   "virtio ネットワークドライバー netkvm がインストールされていません（欠落: {0}）",
                                   "driver jaringan virtio netkvm tidak terpasang (hilang: {0})",
                                   "o driver de rede virtio netkvm não está instalado (faltando: {0})"}},
    {"cbinit.ok", {"cloudbase-init is installed", "已安装 cloudbase-init", "cloudbase-init はインストール済みです",
                   "cloudbase-init terpasang", "o cloudbase-init está instalado"}},
    {"cbinit.missing", {"cloudbase-init is not installed (missing: {0})", "未安装 cloudbase-init（缺少：{0}）",
                        "cloudbase-init がインストールされていません（欠落: {0}）", "cloudbase-init tidak terpasang (hilang: {0})",
                        "o cloudbase-init não está instalado (faltando: {0})"}},
    {"advice.dynamic", {"Convert the disk back to a basic MBR disk before exporting it (Disk Management, or a third-party tool without data loss).",
                        "导出前请将磁盘转换回 MBR 基本磁盘（使用磁盘管理或可无损转换的第三方工具）。",
                        "エクスポート前に、ディスクを MBR のベーシックディスクに戻してください（ディスクの管理、またはデータを失わないサードパーティツール）。",
                        "Ubah kembali disk menjadi disk dasar MBR sebelum mengekspor (Manajemen Disk, atau alat pihak ketiga tanpa kehilangan data).",
                        "Converta o disco de volta para um disco básico MBR antes de exportar (Gerenciamento de Disco ou uma ferramenta de terceiros sem perda de dados)."}},
    {"advice.windows-os", {"Import a Windows Server 2008, 2012, 2016, 2019 or 2022 system (R2 releases included).",
                           "请导入 Windows Server 2008、2012、2016、2019 或 2022 系统（含 R2 版本）。",
                           "Windows Server 2008・2012・2016・2019・2022（R2 を含む）のシステムをインポートしてください。",
                           "Impor sistem Windows Server 2008, 2012, 2016, 2019, atau 2022 (termasuk rilis R2).",
                           "Importe um sistema Windows Server 2008, 2012, 2016, 2019 ou 2022 (incluindo as versões R2)."}},
    {"advice.win-virtio", {"Install the virtio drivers for Windows (virtio-win) in the system before exporting it, so that viostor or vioscsi starts at boot and netkvm is present.",
                           "导出前请在系统中安装 Windows 版 virtio 驱动（virtio-win），确保 viostor 或 vioscsi 随系统启动加载，并安装 netkvm。",
                           "エクスポート前に Windows 用 virtio ドライバー（virtio-win）をインストールし、viostor または vioscsi がブート時に開始され、netkvm があるようにしてください。",
                           "Pasang driver virtio untuk Windows (virtio-win) sebelum mengekspor, agar viostor atau vioscsi dimulai saat boot dan netkvm tersedia.",
                           "Instale os drivers virtio para Windows (virtio-win) antes de exportar, para que o viostor ou o vioscsi inicie no boot e o netkvm esteja presente."}},
    {"advice.cloudbase-init", {"Install cloudbase-init in the system, or import with Force and configure the instance yourself.",
                               "请在系统中安装 cloudbase-init，或使用强制导入（Force）并自行配置实例。",
                               "システムに cloudbase-init をインストールするか、Force でインポートしてインスタンスを自分で設定してください。",
                               "Pasang cloudbase-init di sistem, atau impor dengan Force dan konfigurasikan instans sendiri.",
                               "Instale o cloudbase-init no sistema ou importe com Force e configure a instância você mesmo."}},
    // skipped
    {"skipped.no-image", {"not checked: the file is not a usable image", "未检查：该文件不是可用的镜像",
                          "未確認: 使用できるイメージではありません", "tidak diperiksa: berkas bukan citra yang dapat digunakan",
                          "não verificado: o arquivo não é uma imagem utilizável"}},
    {"skipped.no-table", {"not checked: no partition table", "未检查：没有分区表", "未確認: パーティションテーブルがありません",
                          "tidak diperiksa: tidak ada tabel partisi", "não verificado: sem tabela de partições"}},
    {"skipped.iso", {"not checked: an ISO 9660 image has no disk partitions", "未检查：ISO 9660 镜像没有磁盘分区",
                     "未確認: ISO 9660 イメージにはディスクパーティションがありません",
                     "tidak diperiksa: citra ISO 9660 tidak memiliki partisi disk",
                     "não verificado: uma imagem ISO 9660 não tem partições de disco"}},
    {"skipped.no-root", {"not checked: no Linux root was found", "未检查：未找到 Linux 根分区",
                         "未確認: Linux のルートが見つかりません", "tidak diperiksa: root Linux tidak ditemukan",
                         "não verificado: nenhuma raiz Linux encontrada"}},
    {"skipped.nothing-declared", {"nothing declared (--os-type, --os-version, --arch)", "未声明（--os-type、--os-version、--arch）",
                                  "申告なし（--os-type、--os-version、--arch）", "tidak ada yang dinyatakan (--os-type, --os-version, --arch)",
                                  "nada declarado (--os-type, --os-version, --arch)"}},
    // advice
    {"advice.format", {"Convert the disk with `qemu-img convert -O qcow2`, or export it again as VHD, VMDK or RAW.",
                       "请使用 `qemu-img convert -O qcow2` 转换磁盘，或重新导出为 VHD、VMDK 或 RAW 格式。",
                       "`qemu-img convert -O qcow2` でディスクを変換するか、VHD・VMDK・RAW 形式で再エクスポートしてください。",
                       "Konversikan disk dengan `qemu-img convert -O qcow2`, atau ekspor ulang sebagai VHD, VMDK, atau RAW.",
                       "Converta o disco com `qemu-img convert -O qcow2` ou exporte-o novamente como VHD, VMDK ou RAW."}},
    {"advice.vsize", {"Shrink the file systems and the disk below 500 GiB, or move data to a data disk.",
                      "请将文件系统和磁盘缩小到 500 GiB 以下，或将数据迁移到数据盘。",
                      "ファイルシステムとディスクを 500 GiB 未満に縮小するか、データをデータディスクに移してください。",
                      "Perkecil sistem berkas dan disk hingga di bawah 500 GiB, atau pindahkan data ke disk data.",
                      "Reduza os sistemas de arquivos e o disco para menos de 500 GiB ou mova os dados para um disco de dados."}},
    {"advice.qsize", {"Delete what the system does not need, zero the free space (fstrim, zerofree) and convert again; move data to a data disk.",
                      "请删除系统不需要的数据，清零空闲空间（fstrim、zerofree）后重新转换；数据可迁移到数据盘。",
                      "不要なデータを削除し、空き領域をゼロで埋めて（fstrim、zerofree）再変換してください。データはデータディスクに移せます。",
                      "Hapus data yang tidak dibutuhkan sistem, nolkan ruang kosong (fstrim, zerofree), lalu konversi lagi; pindahkan data ke disk data.",
                      "Apague o que o sistema não precisa, zere o espaço livre (fstrim, zerofree) e converta novamente; mova os dados para um disco de dados."}},
    {"advice.gpt", {"Convert the disk to MBR (`sgdisk --gpttombr`, disks under 2 TiB) and reinstall GRUB for BIOS boot before exporting.",
                    "导出前请将磁盘转换为 MBR（`sgdisk --gpttombr`，适用于 2 TiB 以下磁盘），并以 BIOS 引导方式重新安装 GRUB。",
                    "エクスポート前にディスクを MBR に変換し（`sgdisk --gpttombr`、2 TiB 未満のディスク）、BIOS ブート用に GRUB を再インストールしてください。",
                    "Sebelum mengekspor, ubah disk ke MBR (`sgdisk --gpttombr`, untuk disk di bawah 2 TiB) dan pasang ulang GRUB untuk boot BIOS.",
                    "Antes de exportar, converta o disco para MBR (`sgdisk --gpttombr`, discos abaixo de 2 TiB) e reinstale o GRUB para boot BIOS."}},
    {"advice.no-table", {"Export the whole system disk, with its partition table, not a single partition.",
                         "请导出带分区表的整个系统盘，而不是单个分区。",
                         "単一のパーティションではなく、パーティションテーブルを含むシステムディスク全体をエクスポートしてください。",
                         "Ekspor seluruh disk sistem beserta tabel partisinya, bukan satu partisi saja.",
                         "Exporte o disco de sistema inteiro, com a tabela de partições, e não uma única partição."}},
    {"advice.truncated", {"Upload the image again and compare its size with the original file.",
                          "请重新上传镜像，并核对其大小与原始文件是否一致。",
                          "イメージを再アップロードし、元のファイルとサイズを比較してください。",
                          "Unggah ulang citra dan bandingkan ukurannya dengan berkas asli.",
                          "Envie a imagem novamente e compare o tamanho com o do arquivo original."}},
    {"advice.boot-missing", {"Export the whole disk, including the /boot partition.", "请导出整个磁盘，包括 /boot 分区。",
                             "/boot パーティションを含むディスク全体をエクスポートしてください。",
                             "Ekspor seluruh disk, termasuk partisi /boot.", "Exporte o disco inteiro, incluindo a partição /boot."}},
    {"advice.iso", {"Install the system from the ISO, then import that system's disk; or import the ISO with Force.",
                    "请先用该 ISO 安装系统，再导入安装后的系统盘；或使用强制导入（Force）导入 ISO。",
                    "ISO からシステムをインストールしてから、そのシステムディスクをインポートしてください。または Force で ISO をインポートしてください。",
                    "Pasang sistem dari ISO, lalu impor disk sistem tersebut; atau impor ISO dengan Force.",
                    "Instale o sistema a partir da ISO e depois importe o disco desse sistema; ou importe a ISO com Force."}},
    {"advice.root", {"Upload the system disk of an installed system: not an installer, a data disk or a single partition.",
                     "请上传已安装系统的系统盘，而不是安装盘、数据盘或单个分区。",
                     "インストール済みシステムのシステムディスクをアップロードしてください（インストーラー、データディスク、単一パーティションは不可）。",
                     "Unggah disk sistem dari sistem yang sudah terpasang: bukan pemasang, disk data, atau satu partisi.",
                     "Envie o disco de sistema de um sistema instalado: não um instalador, um disco de dados ou uma única partição."}},
    {"advice.declared", {"Declare the OS, version and architecture the image really holds.",
                         "请按镜像实际的操作系统、版本和架构进行声明。",
                         "イメージの実際の OS・バージョン・アーキテクチャを申告してください。",
                         "Nyatakan OS, versi, dan arsitektur yang sebenarnya ada di citra.",
                         "Declare o SO, a versão e a arquitetura que a imagem realmente contém."}},
    {"advice.no-kernel", {"Install a kernel (and its boot loader entry) in the system before exporting it.",
                          "导出前请在系统中安装内核（及其引导项）。",
                          "エクスポート前にカーネル（とブートローダーのエントリ）をインストールしてください。",
                          "Pasang kernel (beserta entri boot loader-nya) di sistem sebelum mengekspornya.",
                          "Instale um kernel (e sua entrada no carregador de boot) no sistema antes de exportá-lo."}},
    {"advice.virtio", {"Add virtio_blk and virtio_pci to the initramfs and rebuild it: on Debian or Ubuntu list them in /etc/initramfs-tools/modules and run `update-initramfs -u`; on the RHEL family run `dracut -f --add-drivers \"virtio_blk virtio_pci\"`.",
                       "请将 virtio_blk 和 virtio_pci 加入 initramfs 并重新生成：Debian 或 Ubuntu 请写入 /etc/initramfs-tools/modules 后运行 `update-initramfs -u`；RHEL 系请运行 `dracut -f --add-drivers \"virtio_blk virtio_pci\"`。",
                       "virtio_blk と virtio_pci を initramfs に追加して再作成してください。Debian・Ubuntu では /etc/initramfs-tools/modules に記載して `update-initramfs -u` を、RHEL 系では `dracut -f --add-drivers \"virtio_blk virtio_pci\"` を実行します。",
                       "Tambahkan virtio_blk dan virtio_pci ke initramfs lalu buat ulang: di Debian atau Ubuntu tulis di /etc/initramfs-tools/modules dan jalankan `update-initramfs -u`; di keluarga RHEL jalankan `dracut -f --add-drivers \"virtio_blk virtio_pci\"`.",
                       "Adicione virtio_blk e virtio_pci ao initramfs e gere-o novamente: no Debian ou Ubuntu, liste-os em /etc/initramfs-tools/modules e execute `update-initramfs -u`; na família RHEL, execute `dracut -f --add-drivers \"virtio_blk virtio_pci\"`."}},
    {"advice.cloud-init", {"Install cloud-init (`apt install cloud-init`, `yum install cloud-init`), or import with Force and configure the instance yourself.",
                           "请安装 cloud-init（`apt install cloud-init`、`yum install cloud-init`），或使用强制导入（Force）并自行配置实例。",
                           "cloud-init をインストールする（`apt install cloud-init`、`yum install cloud-init`）か、Force でインポートしてインスタンスを自分で設定してください。",
                           "Pasang cloud-init (`apt install cloud-init`, `yum install cloud-init`), atau impor dengan Force dan konfigurasikan instans sendiri.",
                           "Instale o cloud-init (`apt install cloud-init`, `yum install cloud-init`) ou importe com Force e configure a instância você mesmo."}},
    {"advice.cloud-init-enable", {"Enable cloud-init: remove /etc/cloud/cloud-init.disabled and unmask its units (`systemctl unmask cloud-init`).",
                                  "请启用 cloud-init：删除 /etc/cloud/cloud-init.disabled，并解除其服务单元的屏蔽（`systemctl unmask cloud-init`）。",
                                  "cloud-init を有効にしてください: /etc/cloud/cloud-init.disabled を削除し、ユニットのマスクを解除します（`systemctl unmask cloud-init`）。",
                                  "Aktifkan cloud-init: hapus /etc/cloud/cloud-init.disabled dan buka mask unit-nya (`systemctl unmask cloud-init`).",
                                  "Ative o cloud-init: remova /etc/cloud/cloud-init.disabled e desmascare suas unidades (`systemctl unmask cloud-init`)."}},
  };
  return t;
}
// clang-format on

}  // namespace

std::optional<Lang> parse_lang(std::string_view code) {
  const std::string_view base = code.substr(0, code.find_first_of("-_"));
  if (base == "en") return Lang::kEn;
  if (base == "zh") return Lang::kZh;
  if (base == "ja") return Lang::kJa;
  if (base == "id") return Lang::kId;
  if (base == "pt") return Lang::kPt;
  return std::nullopt;
}

std::string_view lang_code(Lang lang) {
  static constexpr std::array<std::string_view, kLangCount> kCodes = {"en", "zh", "ja", "id", "pt"};
  return kCodes[static_cast<std::size_t>(lang)];
}

std::string render(const Message& m, Lang lang) {
  const auto it = table().find(m.id);
  if (it == table().end()) {
    std::string s = m.id;
    for (const std::string& a : m.args) s += " " + a;
    return s;
  }
  fmt::dynamic_format_arg_store<fmt::format_context> args;
  for (const std::string& a : m.args) args.push_back(a);
  // A template names at most the arguments its id takes; extra arguments are ignored, and a
  // missing one is a programming error caught by the completeness test, so fall back to the id.
  try {
    return fmt::vformat(it->second[static_cast<std::size_t>(lang)], args);
  } catch (const fmt::format_error&) {
    return m.id;
  }
}

std::string check_title(std::string_view check, Lang lang) {
  return render({"title." + std::string(check), {}}, lang);
}

std::string status_label(CheckStatus s, Lang lang) {
  return render({"status." + std::string(check_status_name(s)), {}}, lang);
}

std::vector<std::string> message_ids() {
  std::vector<std::string> ids;
  for (const auto& [id, texts] : table()) ids.emplace_back(id);
  return ids;
}

}  // namespace ig
