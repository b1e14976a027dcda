using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace NewLlm.Training.Tests;

/// <summary>Every byte of a checkpoint is protected: the entries by their SHA-256, the manifest by its own hash, all of them by the zip CRC-32.</summary>
public sealed class CheckpointIntegrityTests
{
    [Fact]
    public async Task AnEditedManifestIsRefusedNamingTheFileAndWhatToDo()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();

        // A changed digit in the best loss, written as a well-formed zip (its CRC matches the edited manifest).
        string edited = Path.Combine(setup.Directory, "edited.pt");
        RewriteManifest(good, edited, manifest =>
        {
            double best = manifest["state"]!["best_validation_loss"]!.GetValue<double>();
            manifest["state"]!["best_validation_loss"] = best + 1;
        });

        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(edited));
        Assert.Contains("edited.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("manifest.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
        Assert.Contains("another checkpoint", error.Message, StringComparison.Ordinal);

        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(edited));
    }

    [Fact]
    public async Task AChangedDigitInTheStoredManifestIsRefusedThroughTheZipCrc()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();

        // The manifest is stored uncompressed, so a changed byte in the file is a changed digit in it, caught before its hash is compared.
        byte[] bytes = await File.ReadAllBytesAsync(good);
        int at = IndexOf(bytes, "\"best_validation_loss\": "u8) + "\"best_validation_loss\": ".Length;
        Assert.InRange(bytes[at], (byte)'0', (byte)'9');
        bytes[at] = (byte)(bytes[at] == '9' ? '8' : bytes[at] + 1);
        string changed = Path.Combine(setup.Directory, "changed.pt");
        await File.WriteAllBytesAsync(changed, bytes);

        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(changed));
        Assert.Contains("changed.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("CRC-32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVersion2CheckpointWithoutTheManifestHashIsRefused()
    {
        // Versions 1 to 3 were development builds' layouts; version 4 is the first a released NewLlm wrote.
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        string version2 = Path.Combine(setup.Directory, "version2.pt");
        RewriteManifest(good, version2, manifest => manifest["version"] = 2, dropManifestHash: true);
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(version2));
        Assert.Contains("version2.pt", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, trainer.State.CompletedEpochs);
    }

    [Fact]
    public async Task ACheckpointWithItsManifestHashMissingIsRefused()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        Assert.Equal(CheckpointManifest.CurrentVersion, CheckpointFile.ReadManifest(good).Version);
        string stripped = Path.Combine(setup.Directory, "stripped.pt");
        RewriteManifest(good, stripped, _ => { }, dropManifestHash: true);

        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(stripped));
        Assert.Contains("stripped.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains(TrainingCheckpoint.ManifestHashEntry, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Slow")] // thousands of loads of a changed checkpoint
    public async Task AChangedByteAnywhereInTheFileIsRefusedCleanlyOrChangesNothingThatIsLoaded()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        byte[] original = await File.ReadAllBytesAsync(good);
        using TrainingCheckpoint reference = TrainingCheckpoint.Read(good);

        // Every byte of the zip structure (local headers, central directory, end record) and samples inside every entry.
        var offsets = new SortedSet<int>();
        int centralDirectory = BinaryPrimitives.ReadInt32LittleEndian(original.AsSpan(original.Length - 22 + 16));
        for (int i = centralDirectory; i < original.Length; i++)
        {
            offsets.Add(i);
        }

        for (int header = 0; header < centralDirectory; header += 4)
        {
            header = original.AsSpan(header, centralDirectory - header).IndexOf("PK\u0003\u0004"u8) is int found and >= 0 ? header + found : centralDirectory;
            if (header >= centralDirectory)
            {
                break;
            }

            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(original.AsSpan(header + 26));
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(original.AsSpan(header + 28));
            int dataStart = header + 30 + nameLength + extraLength;
            int dataLength = BinaryPrimitives.ReadInt32LittleEndian(original.AsSpan(header + 18));
            for (int i = header; i < dataStart; i++)
            {
                offsets.Add(i);
            }

            for (int k = 0; k < 24 && dataLength > 0; k++)
            {
                offsets.Add(dataStart + (int)((long)dataLength * k / 24));
            }

            offsets.Add(dataStart + dataLength - 1);
            header = dataStart + dataLength - 4; // the next header follows the data
        }

        string damaged = Path.Combine(setup.Directory, "flipped.pt");
        int refused = 0, unchanged = 0;
        foreach (int offset in offsets)
        {
            foreach (byte mask in new byte[] { 0x01, 0x80 })
            {
                byte[] bytes = (byte[])original.Clone();
                bytes[offset] ^= mask;
                await File.WriteAllBytesAsync(damaged, bytes);
                TrainingCheckpoint loaded;
                try
                {
                    loaded = TrainingCheckpoint.Read(damaged); // every record hashed: what it reads is what was written
                }
                catch (InvalidDataException error)
                {
                    Assert.True(error.Message.Contains("flipped.pt", StringComparison.Ordinal), $"offset {offset}: the message does not name the file: {error.Message}");
                    refused++;
                    continue;
                }
                catch (Exception other)
                {
                    Assert.Fail($"offset {offset}, mask {mask:x2}: {other.GetType().Name} instead of a clean refusal: {other.Message}");
                    throw;
                }

                Assert.True(reference.ManifestBytes.AsSpan().SequenceEqual(loaded.ManifestBytes), $"offset {offset}: the manifest read differs");
                Assert.Equal(reference.Entries.Keys.Order(StringComparer.Ordinal), loaded.Entries.Keys.Order(StringComparer.Ordinal));
                foreach ((string name, byte[] value) in reference.Entries)
                {
                    Assert.True(value.AsSpan().SequenceEqual(loaded.Entries[name]), $"offset {offset}: entry {name} read differs");
                }

                loaded.Dispose();

                unchanged++;
            }
        }

        Assert.True(refused > offsets.Count, $"{refused} refused, {unchanged} read unchanged");
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value)
    {
        int at = bytes.AsSpan().IndexOf(value);
        Assert.True(at >= 0, "pattern not found");
        return at;
    }

    /// <summary>Copies a checkpoint with its manifest changed (a well-formed zip: the CRCs match the new content).</summary>
    internal static void RewriteManifest(string source, string destination, Action<JsonObject> change, bool dropManifestHash = false)
    {
        var entries = new List<(string Name, byte[] Bytes)>();
        using (ZipArchive zip = ZipFile.OpenRead(source))
        {
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                using var buffer = new MemoryStream();
                using (Stream stream = entry.Open())
                {
                    stream.CopyTo(buffer);
                }

                entries.Add((entry.FullName, buffer.ToArray()));
            }
        }

        using FileStream file = File.Create(destination);
        using var output = new ZipArchive(file, ZipArchiveMode.Create);
        foreach ((string name, byte[] bytes) in entries)
        {
            byte[] content = bytes;
            if (name == TrainingCheckpoint.ManifestZipName)
            {
                JsonObject manifest = JsonNode.Parse(bytes)!.AsObject();
                change(manifest);
                content = Encoding.UTF8.GetBytes(manifest.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            }
            else if (dropManifestHash && name == TrainingCheckpoint.ManifestHashZipName)
            {
                continue;
            }

            using Stream stream = output.CreateEntry(name, CompressionLevel.NoCompression).Open();
            stream.Write(content);
        }
    }
}
