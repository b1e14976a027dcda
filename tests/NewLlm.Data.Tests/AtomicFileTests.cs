using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>The one atomic write every assembly links (src/Common/AtomicFile.cs), through this assembly's copy.</summary>
public sealed class AtomicFileTests
{
    [Fact]
    public void AWriterThatFailsKeepsTheOriginalFileAndItsError()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "file.bin");
        File.WriteAllBytes(path, [1, 2, 3]);

        var error = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new InvalidOperationException("the writer's own error");
        }));

        Assert.Equal("the writer's own error", error.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal(["file.bin"], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AnAsyncWriteThatIsCancelledOrFailsLeavesNothingBehind()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "file.bin");
        File.WriteAllBytes(path, [9]);
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => AtomicFile.WriteAsync(path, async (stream, token) =>
        {
            await stream.WriteAsync(new byte[100], token);
            cts.Cancel();
            token.ThrowIfCancellationRequested();
        }, cts.Token));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => AtomicFile.WriteNamedAsync(temp.Path, "download", async (stream, token) =>
        {
            await stream.WriteAsync(new byte[100], token);
            throw new InvalidDataException("checksum mismatch");
        }, CancellationToken.None));

        Assert.Equal("checksum mismatch", error.Message);
        Assert.Equal([9], File.ReadAllBytes(path));
        Assert.Equal(["file.bin"], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task ConcurrentWritesOfOnePathNeverCollideOrTear()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "shared.bin");
        byte[] a = Enumerable.Repeat((byte)'a', 1 << 16).ToArray();
        byte[] b = Enumerable.Repeat((byte)'b', 1 << 17).ToArray();
        Task Writer(byte[] content) => Task.Run(() =>
        {
            for (int i = 0; i < 40; i++)
            {
                AtomicFile.Write(path, stream => stream.Write(content));
            }
        });

        await Task.WhenAll(Writer(a), Writer(b));

        byte[] final = File.ReadAllBytes(path);
        Assert.True(final.AsSpan().SequenceEqual(a) || final.AsSpan().SequenceEqual(b), "the file is not one whole content");
        Assert.Equal(["shared.bin"], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void APathUnderARegularFileIsAClearError()
    {
        using var temp = new TempDirectory();
        string file = Path.Combine(temp.Path, "a-file");
        File.WriteAllText(file, "x");
        string path = Path.Combine(file, "sub", "out.bin");

        var error = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream => stream.WriteByte(1)));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"because '{file}' is a file, not a folder.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StaleTemporaryFilesOfTheSchemeAreDeletedAndNothingElse()
    {
        using var temp = new TempDirectory();
        string old = AtomicFile.TemporaryPathFor(Path.Combine(temp.Path, "model.pt"));
        string fresh = AtomicFile.TemporaryPathFor(Path.Combine(temp.Path, "model.pt"));
        string foreign = Path.Combine(temp.Path, ".notes.tmp");
        string real = Path.Combine(temp.Path, "model.pt");
        foreach (string f in new[] { old, fresh, foreign, real })
        {
            File.WriteAllText(f, "x");
        }

        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        File.SetLastWriteTimeUtc(foreign, DateTime.UtcNow.AddHours(-2));

        Assert.Equal(1, AtomicFile.DeleteStale(temp.Path, TimeSpan.FromHours(1)));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(fresh));
        Assert.True(File.Exists(foreign));
        Assert.True(File.Exists(real));
    }

    [Fact]
    public void OrphanTemporariesAreDeletedOnceNoWriterHoldsThemAndNothingElse()
    {
        using var temp = new TempDirectory();
        var minuteAgo = DateTime.UtcNow.AddMinutes(-1);
        string orphan = AtomicFile.TemporaryPathFor(Path.Combine(temp.Path, "model.pt"));
        string justWritten = AtomicFile.TemporaryPathFor(Path.Combine(temp.Path, "model.pt"));
        string foreign = Path.Combine(temp.Path, ".notes.tmp");
        string real = Path.Combine(temp.Path, "model.pt");
        foreach (string f in new[] { orphan, justWritten, foreign, real })
        {
            File.WriteAllText(f, "x");
        }

        File.SetLastWriteTimeUtc(orphan, minuteAgo);
        File.SetLastWriteTimeUtc(foreign, minuteAgo);
        string held = AtomicFile.TemporaryPathFor(Path.Combine(temp.Path, "model.pt"));
        using (var writer = new FileStream(held, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            File.SetLastWriteTimeUtc(writer.SafeFileHandle, minuteAgo);

            Assert.Equal(1, AtomicFile.DeleteOrphaned(temp.Path, TimeSpan.FromHours(1)));
            Assert.False(File.Exists(orphan));
            Assert.True(File.Exists(held));
            Assert.True(File.Exists(justWritten)); // within the grace: its writer may not have locked it yet
            Assert.True(File.Exists(foreign));
            Assert.True(File.Exists(real));
        }

        Assert.Equal(1, AtomicFile.DeleteOrphaned(temp.Path, TimeSpan.FromHours(1))); // its writer is gone
        Assert.False(File.Exists(held));
    }

    [SkippableFact]
    public void ATemporaryOfAKilledProcessIsAnOrphanAtOnceWhileItLivedItWasKept()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/flock"), "needs Linux and flock(1)");
        using var temp = new TempDirectory();
        string held = AtomicFile.TemporaryPathFor(Path.Combine(temp.Path, "model.pt"));
        File.WriteAllText(held, "x");
        File.SetLastWriteTimeUtc(held, DateTime.UtcNow.AddMinutes(-1));
        // Another process takes the same flock(2) lock a FileStream with FileShare.None takes, and holds it.
        using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/flock", ["-x", held, "-c", "echo locked; sleep 300"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            Assert.Equal("locked", holder.StandardOutput.ReadLine());
            Assert.Equal(0, AtomicFile.DeleteOrphaned(temp.Path, TimeSpan.FromHours(1)));
            Assert.True(File.Exists(held));

            holder.Kill(entireProcessTree: true); // SIGKILL to flock, its shell and sleep: the OS frees the lock as they die
            holder.WaitForExit();
            var patience = System.Diagnostics.Stopwatch.StartNew();
            int deleted;
            while ((deleted = AtomicFile.DeleteOrphaned(temp.Path, TimeSpan.FromHours(1))) == 0 && patience.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(50); // the shell's children may take a moment to be reaped
            }

            Assert.Equal(1, deleted);
            Assert.False(File.Exists(held));
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill(entireProcessTree: true);
            }
        }
    }
}
