using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace NewLlm.Core.Tests;

/// <summary>
/// Checks what the build step in buildTransitive/NewLlm.Core.targets did to the copy of libLibTorchSharp.so in this
/// test's output folder: on a host whose libstdc++ lacks GLIBCXX_3.4.32 that requirement is flagged weak, elsewhere it
/// is left alone. The ELF walk here is written independently of the task's.
/// </summary>
public class NativeLibraryFixTests
{
    private const string Version = "GLIBCXX_3.4.32";

    [SkippableFact]
    public void GlibcxxRequirementIsWeakExactlyWhenTheHostLacksIt()
    {
        Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "Skipped: the fix applies to Linux only.");
        string library = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Skip.IfNot(File.Exists(library), $"Skipped: {library} is absent (not linux-x64).");

        ushort? flags = RequirementFlags(File.ReadAllBytes(library), Version);
        Skip.If(flags is null, $"Skipped: this TorchSharp build does not ask for {Version}.");
        bool weak = (flags!.Value & 0x2) != 0;
        Assert.Equal(!HostHasVersion(), weak);

        // And the package cache copy is never modified.
        string home = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string cached in Directory.Exists(home) ? Directory.GetFiles(Path.Combine(home, "torchsharp"), "libLibTorchSharp.so", SearchOption.AllDirectories) : [])
        {
            ushort? cachedFlags = RequirementFlags(File.ReadAllBytes(cached), Version);
            Assert.True(cachedFlags is null || (cachedFlags.Value & 0x2) == 0, $"{cached} in the NuGet cache was modified");
        }
    }

    private static bool HostHasVersion()
    {
        byte[] needle = Encoding.ASCII.GetBytes(Version + "\0");
        return new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }
            .Where(File.Exists).Any(p => File.ReadAllBytes(p).AsSpan().IndexOf(needle) >= 0);
    }

    // vna_flags of the version requirement called `version`, or null when the library has none.
    private static ushort? RequirementFlags(byte[] elf, string version)
    {
        ReadOnlySpan<byte> span = elf;
        long sections = BinaryPrimitives.ReadInt64LittleEndian(span[0x28..]);
        int size = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        for (int s = 0; s < count; s++)
        {
            ReadOnlySpan<byte> header = span[(int)(sections + s * size)..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != 0x6ffffffe)
            {
                continue;
            }

            int offset = (int)BinaryPrimitives.ReadInt64LittleEndian(header[0x18..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
            int needs = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[0x2C..]);
            int strings = (int)BinaryPrimitives.ReadInt64LittleEndian(span[(int)(sections + link * size + 0x18)..]);
            for (int n = 0, need = offset; n < needs; n++, need += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 12)..]))
            {
                int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(need + 2)..]);
                int aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 8)..]);
                for (int a = 0; a < auxCount; a++, aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]))
                {
                    int name = strings + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..]);
                    int end = span[name..].IndexOf((byte)0);
                    if (Encoding.ASCII.GetString(span.Slice(name, end)) == version)
                    {
                        return BinaryPrimitives.ReadUInt16LittleEndian(span[(aux + 4)..]);
                    }
                }
            }
        }

        return null;
    }
}
