using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace NewLlm;

/// <summary>
/// Whether this processor multiplies bfloat16 natively (x86: <c>avx512_bf16</c> or <c>amx_bf16</c>; Arm: <c>bf16</c>),
/// which libtorch's CPU kernels (oneDNN) need for bfloat16 products faster than float32: from <c>/proc/cpuinfo</c> on
/// Linux, elsewhere from .NET's AVX10.1 check (which includes the bfloat16 instructions). <c>Description</c> says
/// what was found, for messages.
/// </summary>
/// <remarks>
/// oneDNN's own limit counts too: <c>ONEDNN_MAX_CPU_ISA</c> (or <c>DNNL_MAX_CPU_ISA</c>) set below
/// <c>AVX512_CORE_BF16</c> makes libtorch use its emulated bfloat16 kernels even on a processor that has the
/// instructions. Measured on an AMD EPYC with avx512_bf16 (<c>benchmarks/NewLlm.Benchmarks/README.md</c>, "Other CPUs"): a bfloat16 product ran at
/// about 400 GFLOP/s natively, 72 with the limit at <c>AVX512_CORE_VNNI</c> or <c>AVX512_CORE</c> (oneDNN's <c>gemm:jit:bf16</c>)
/// and 5 at <c>AVX2</c>, against 165 in float32.
/// </remarks>
internal readonly record struct CpuBFloat16Support(bool Native, string Description)
{
    private static readonly string[] X86Flags = ["avx512_bf16", "amx_bf16"];

    // oneDNN's x86 ISA names (its cpu_isa_t order) below the first with bfloat16 products.
    private static readonly string[] IsasWithoutBFloat16 = ["SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"];
    private static readonly Lazy<CpuBFloat16Support> Detected = new(Detect);

    public static CpuBFloat16Support Current => Detected.Value;

    /// <summary>
    /// The support a <c>/proc/cpuinfo</c> text shows (its first <c>flags</c> or, on Arm, <c>Features</c> line), under
    /// oneDNN's ISA limit <paramref name="oneDnnMaxIsa"/> (the value of <c>ONEDNN_MAX_CPU_ISA</c>, null when unset).
    /// </summary>
    public static CpuBFloat16Support FromCpuInfo(string cpuInfo, Architecture architecture, string? oneDnnMaxIsa = null)
    {
        CpuBFloat16Support flags = FromFlags(cpuInfo, architecture);
        return LimitedBy(flags, architecture, oneDnnMaxIsa);
    }

    // An x86 processor's native support is not used when oneDNN is limited to an ISA without bfloat16 products.
    private static CpuBFloat16Support LimitedBy(CpuBFloat16Support support, Architecture architecture, string? oneDnnMaxIsa)
    {
        string? limit = oneDnnMaxIsa?.Trim();
        return support.Native && (architecture is Architecture.X64 or Architecture.X86) && limit is { Length: > 0 } && IsasWithoutBFloat16.Contains(limit, StringComparer.OrdinalIgnoreCase)
            ? new CpuBFloat16Support(false, $"{support.Description} yet ONEDNN_MAX_CPU_ISA={limit} keeps libtorch's oneDNN from using it (unset it, or set AVX512_CORE_BF16 or above)")
            : support;
    }

    private static CpuBFloat16Support FromFlags(string cpuInfo, Architecture architecture)
    {
        string label = architecture is Architecture.Arm64 ? "Features" : "flags";
        string[] wanted = architecture is Architecture.Arm64 ? ["bf16"] : X86Flags;
        string? line = cpuInfo.Split('\n').FirstOrDefault(l => l.StartsWith(label, StringComparison.Ordinal) && l.Contains(':', StringComparison.Ordinal));
        if (line is null)
        {
            return new CpuBFloat16Support(false, $"/proc/cpuinfo has no '{label}' line, so neither {string.Join(" nor ", wanted)} could be found");
        }

        HashSet<string> flags = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        string? found = wanted.FirstOrDefault(flags.Contains);
        return found is null
            ? new CpuBFloat16Support(false, $"this processor's flags (/proc/cpuinfo) have neither {string.Join(" nor ", wanted)}")
            : new CpuBFloat16Support(true, $"this processor has {found}");
    }

    private static CpuBFloat16Support Detect()
    {
        Architecture architecture = RuntimeInformation.ProcessArchitecture;
        string? limit = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") is { Length: > 0 } oneDnn ? oneDnn : Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA");
        if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
        {
            try
            {
                return FromCpuInfo(File.ReadAllText("/proc/cpuinfo"), architecture, limit);
            }
            catch (IOException)
            {
                // Unreadable: fall through to the instruction-set check.
            }
        }

        return LimitedBy(
            Avx10v1.IsSupported
                ? new CpuBFloat16Support(true, "this processor has AVX10.1 (which includes avx512_bf16)")
                : new CpuBFloat16Support(false, $"no native bfloat16 product was found on this {architecture} processor (looked for avx512_bf16, amx_bf16 or AVX10.1)"),
            architecture,
            limit);
    }
}
