using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace NewLlm.Training.Tests;

/// <summary>
/// NewLlm checkpoints changed to hurt: a record the manifest does not list, a tensor record of another size than its
/// storage, with every hash fixed to match. Each is refused naming the file and the record, before the record is inflated.
/// </summary>
public sealed class HostileCheckpointTests
{
    [Fact]
    public async Task ARecordTheManifestDoesNotListIsRefusedBeforeItsGigabyteIsInflated()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        string bomb = Path.Combine(setup.Directory, "bomb.pt");
        Rewrite(good, bomb, extra: ("archive/newllm/extra.bin", 1L << 30));

        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(bomb));
        Assert.Contains("bomb.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("'newllm/extra.bin'", error.Message, StringComparison.Ordinal);
        Assert.Contains("not listed in its manifest", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => CheckpointFile.LoadModel(bomb));
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        Assert.Contains("not listed in its manifest", Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(bomb)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATensorRecordOfAnotherSizeThanItsStorageIsRefusedNamingTheTensorEvenWithItsHashFixed()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        string longer = Path.Combine(setup.Directory, "longer.pt");
        Rewrite(good, longer, change: ("archive/data/0", bytes => [.. bytes, 0, 0, 0, 0]));

        CheckpointFile.ReadManifest(longer); // every hash matches: only the sizes tell
        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.LoadModel(longer));
        Assert.Contains("longer.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("token_embedding.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("declares", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARecordDeclaringMoreThanTheModelCanHoldIsRefusedBeforeItIsRead()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        string big = Path.Combine(setup.Directory, "big.pt");
        Rewrite(good, big, change: ("archive/data/0", _ => new byte[64 << 20]));

        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(big));
        Assert.Contains("big.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("'data/0'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("batches_into_epoch", -1, "batches_into_epoch -1")]
    [InlineData("global_step", -3, "global_step -3")]
    [InlineData("best_epoch", 9, "best_epoch 9 of 1 completed")]
    public async Task AManifestEditedIntoAnImpossibleStateIsRefusedEvenWithItsHashRecomputed(string field, int value, string expected)
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        string edited = Path.Combine(setup.Directory, "edited.pt");
        Rewrite(good, edited, change: (TrainingCheckpoint.ManifestZipName, bytes =>
        {
            JsonObject manifest = JsonNode.Parse(bytes)!.AsObject();
            manifest["state"]![field] = value;
            return Encoding.UTF8.GetBytes(manifest.ToJsonString());
        }));

        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(edited));
        Assert.Contains("edited.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACheckpointTakenFurtherIntoAnEpochThanThisRunsEpochHasIsRefusedBeforeAnythingChanges()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        string edited = Path.Combine(setup.Directory, "far.pt");
        Rewrite(good, edited, change: (TrainingCheckpoint.ManifestZipName, bytes =>
        {
            JsonObject manifest = JsonNode.Parse(bytes)!.AsObject();
            manifest["state"]!["batches_into_epoch"] = 1_000_000_000;
            return Encoding.UTF8.GetBytes(manifest.ToJsonString());
        }));

        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        Dictionary<string, float[]> before = TinySetup.Weights(trainer.Model);
        var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(edited));
        Assert.Contains("1000000000 batches into an epoch", error.Message, StringComparison.Ordinal);
        ResumeTests.AssertSameWeights(before, trainer.Model);
    }

    [Fact]
    public async Task ALoadedModelIsInEvaluationModeAndAReadCheckpointLeavesNoFileOpen()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        using (NewLlmModel model = (NewLlmModel)CheckpointFile.LoadModel(good))
        {
            Assert.False(model.training);
        }

        CheckpointFile.ReadManifest(good);
        CheckpointFile.LoadTokenizer(good);
        if (OperatingSystem.IsLinux())
        {
            Assert.DoesNotContain(good, Directory.EnumerateFiles("/proc/self/fd").Select(LinkTarget));
        }
    }

    [Fact]
    public async Task ACheckpointWhoseLargestParameterIsAHiddenLayerReadsBack()
    {
        // A narrow vocabulary and a wide second layer: [64, 64] is the largest parameter, not the embedding or the output layer.
        using var setup = new TinySetup();
        NewLlmOptions wide = setup.ModelOptions;
        (wide.HiddenDim, wide.NumLayers) = (64, 2);
        using (var trainer = setup.CreateTrainer(new NewLlmModel(wide), setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        using NewLlmModel model = (NewLlmModel)CheckpointFile.LoadModel(Path.Combine(setup.Directory, "tiny_final.pt"));
        Assert.Equal(2, model.Options.NumLayers);
    }

    /// <summary>What an open file descriptor points at, or null when it closed meanwhile.</summary>
    private static string? LinkTarget(string descriptor)
    {
        try
        {
            return new FileInfo(descriptor).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Copies a checkpoint, changing one record (its hash in the manifest and the manifest's own hash fixed to match)
    /// or adding one record of zeros, deflated, that the manifest does not list.
    /// </summary>
    internal static void Rewrite(string source, string destination, (string Name, Func<byte[], byte[]> Change)? change = null, (string Name, long Bytes)? extra = null)
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

        if (change is var (changed, transform))
        {
            int i = entries.FindIndex(e => e.Name == changed);
            entries[i] = (changed, transform(entries[i].Bytes));
            int m = entries.FindIndex(e => e.Name == TrainingCheckpoint.ManifestZipName);
            if (m != i)
            {
                JsonObject manifest = JsonNode.Parse(entries[m].Bytes)!.AsObject();
                manifest["entry_hashes"]![changed["archive/".Length..]] = Convert.ToHexStringLower(SHA256.HashData(entries[i].Bytes));
                entries[m] = (entries[m].Name, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
            }

            int h = entries.FindIndex(e => e.Name == TrainingCheckpoint.ManifestHashZipName);
            entries[h] = (entries[h].Name, Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(entries[m].Bytes))));
        }

        using var output = new ZipArchive(File.Create(destination), ZipArchiveMode.Create);
        foreach ((string name, byte[] bytes) in entries)
        {
            using Stream stream = output.CreateEntry(name, CompressionLevel.NoCompression).Open();
            stream.Write(bytes);
        }

        if (extra is var (extraName, count))
        {
            using Stream stream = output.CreateEntry(extraName, CompressionLevel.Fastest).Open();
            byte[] block = new byte[1 << 20];
            for (long left = count; left > 0; left -= block.Length)
            {
                stream.Write(block, 0, (int)Math.Min(block.Length, left));
            }
        }
    }
}
