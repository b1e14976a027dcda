using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Benchmarks;

/// <summary>
/// What every figure is printed beside: the CPU (model, its vector and matrix ISA flags), the instruction-set limits
/// this run was given (<c>ONEDNN_MAX_CPU_ISA</c>, <c>MKL_ENABLE_INSTRUCTIONS</c>, <c>DOTNET_EnableAVX512</c> (.NET 10's name), ...), and the
/// kernels that actually ran: oneDNN's ISA and bfloat16 matmul implementation, MKL's build and code path, .NET's vector width.
/// </summary>
internal static class MachineDescription
{
    /// <summary>The environment variables that restrict an instruction set, reported when set.</summary>
    public static readonly string[] IsaVariables = ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY", "DOTNET_EnableAVX512", "DOTNET_EnableAVX512F", "DOTNET_EnableAVX2", "DOTNET_PreferredVectorBitWidth"];

    /// <summary>The CPU's model and its AVX, AMX and FMA flags, from <c>/proc/cpuinfo</c>.</summary>
    public static (string Model, string Flags) Cpu()
    {
        try
        {
            string[] info = File.ReadAllLines("/proc/cpuinfo");
            string Field(string name) => info.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
            string[] flags = Field("flags").Split(' ');
            return (Field("model name"), string.Join(' ', flags.Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f.StartsWith("amx", StringComparison.Ordinal) || f == "fma")));
        }
        catch (IOException)
        {
            return ("unknown (no /proc/cpuinfo)", string.Empty);
        }
    }

    /// <summary>The machine line: CPU, logical processors, the ISA limits set, and the kernels a probe child (<see cref="Probe"/>) reported.</summary>
    public static JsonObject Describe(string? probeOutput)
    {
        (string model, string flags) = Cpu();
        var limits = new JsonObject();
        foreach (string name in IsaVariables)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                limits[name] = value;
            }
        }

        var line = new JsonObject
        {
            ["cpu"] = model,
            ["cpu_flags"] = flags,
            ["logical_processors"] = Environment.ProcessorCount,
            ["amx"] = flags.Contains("amx_bf16", StringComparison.Ordinal),
            ["isa_limits"] = limits,
        };
        if (probeOutput is not null)
        {
            string[] lines = probeOutput.Split('\n');
            string? Find(string prefix) => lines.Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            // No oneDNN line at all: libtorch ran the bfloat16 product with its own kernel (it asks oneDNN only where bfloat16 is native).
            line["onednn_isa"] = Find("onednn_verbose,v1,info,cpu,isa:")?.Split("isa:", 2)[1] ?? "not loaded";
            line["onednn_bf16_matmul"] = Find("onednn_verbose,v1,primitive,exec,cpu,matmul,")?.Split(',')[6] ?? "none (libtorch's own bf16 gemm)";
            line["mkl"] = Find("MKL_VERBOSE oneMKL")?["MKL_VERBOSE ".Length..].Split(", Lnx")[0];
            line["dotnet_vectors"] = Find("DOTNET_VECTORS=")?.Split('=', 2)[1];
        }

        return line;
    }

    /// <summary>The short form printed beside every figure: CPU model, its bfloat16 and AMX flags, the ISA limits set, and oneDNN's bfloat16 matmul.</summary>
    public static string Tag(JsonObject machine)
    {
        string flags = machine["cpu_flags"]?.GetValue<string>() ?? string.Empty;
        string bf16 = flags.Contains("avx512_bf16", StringComparison.Ordinal) ? "avx512_bf16" : "no avx512_bf16";
        string amx = machine["amx"]?.GetValue<bool>() == true ? "AMX" : "no AMX";
        string limits = machine["isa_limits"] is JsonObject set && set.Count > 0 ? "; " + string.Join(' ', set.Select(kv => $"{kv.Key}={kv.Value}")) : string.Empty;
        string kernel = machine["onednn_bf16_matmul"]?.GetValue<string>() is { } k ? $"; bf16 matmul {k}" : string.Empty;
        return $"{machine["cpu"]?.GetValue<string>()} ({bf16}, {amx}{limits}{kernel})";
    }

    /// <summary>
    /// The probe child's work (run with <c>ONEDNN_VERBOSE=1 MKL_VERBOSE=1</c>): one bfloat16 and one float32 product,
    /// so that oneDNN and MKL print what they dispatched to, and .NET's vector width and AVX-512 use.
    /// </summary>
    public static void Probe()
    {
        using var scope = NewDisposeScope();
        Console.WriteLine($"DOTNET_VECTORS=Vector<float> {System.Numerics.Vector<float>.Count * 32} bits, Vector512 {(Vector512.IsHardwareAccelerated ? "accelerated" : "not accelerated")}, AVX-512F {(Avx512F.IsSupported ? "on" : "off")}, AVX2 {(Avx2.IsSupported ? "on" : "off")}");
        Tensor a = randn(64, 256), b = randn(256, 512);
        _ = a.mm(b);
        _ = a.to_type(ScalarType.BFloat16).mm(b.to_type(ScalarType.BFloat16));
    }
}
