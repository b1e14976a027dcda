using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace NewLlm;

/// <summary>
/// Whether this processor multiplies bfloat16 natively (x86: <c>avx512_bf16</c> or <c>amx_bf16</c>; Arm: <c>bf16</c>),
/// which libtorch's CPU kernels (oneDNN) need for bfloat16 products faster than float32: from <c>/proc/cpuinfo</c> on
/// Linux, elsewhere from .NET's AVX10.1 check (which includes the bfloat16 instructions). <c>Description</c> says
/// what was found, for messages.
/// </summary>
internal readonly record struct CpuBFloat16Support(bool Native, string Description)
{
    private static readonly string[] X86Flags = ["avx512_bf16", "amx_bf16"];
    private static readonly Lazy<CpuBFloat16Support> Detected = new(Detect);

    public static CpuBFloat16Support Current => Detected.Value;

    /// <summary>The support a <c>/proc/cpuinfo</c> text shows (its first <c>flags</c> or, on Arm, <c>Features</c> line).</summary>
    public static CpuBFloat16Support FromCpuInfo(string cpuInfo, Architecture architecture)
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
        if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
        {
            try
            {
                return FromCpuInfo(File.ReadAllText("/proc/cpuinfo"), RuntimeInformation.ProcessArchitecture);
            }
            catch (IOException)
            {
                // Unreadable: fall through to the instruction-set check.
            }
        }

        return Avx10v1.IsSupported
            ? new CpuBFloat16Support(true, "this processor has AVX10.1 (which includes avx512_bf16)")
            : new CpuBFloat16Support(false, $"no native bfloat16 product was found on this {RuntimeInformation.ProcessArchitecture} processor (looked for avx512_bf16, amx_bf16 or AVX10.1)");
    }
}
