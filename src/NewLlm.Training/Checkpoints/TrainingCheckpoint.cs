using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace NewLlm.Training;

/// <summary>
/// A training checkpoint, written and read here only: a zip (entries stored) that is a PyTorch checkpoint
/// (<see cref="PyTorchCheckpointPart"/>, the only copy of the weights and the optimizer state) with NewLlm's records under
/// <c>archive/newllm/</c>, which <c>torch.load</c> never reads: <c>manifest.json</c>, <c>manifest.sha256</c> (the
/// manifest's SHA-256), <c>rng.bin</c> and, when known, <c>tokenizer.json</c>; the manifest holds every other record's
/// SHA-256. Reading verifies the whole file first (<see cref="CheckpointVerifier"/>) and keeps it open until disposed;
/// <see cref="Restore"/> checks every part before it changes anything.
/// </summary>
internal sealed class TrainingCheckpoint : IDisposable
{
    internal const string ManifestEntry = "manifest.json";
    internal const string ManifestHashEntry = "manifest.sha256";
    internal const string RngEntry = "rng.bin";
    internal const string TokenizerEntry = "tokenizer.json";

    internal const string NewLlmFolder = "newllm/";
    internal const string DataPickle = "data.pkl";
    internal const string ManifestZipName = "archive/" + NewLlmFolder + ManifestEntry;
    internal const string ManifestHashZipName = "archive/" + NewLlmFolder + ManifestHashEntry;

    internal static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
        Encoder = ReadableJson.Encoder,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly FileStream _file;
    private readonly Dictionary<string, byte[]> _entries;

    private TrainingCheckpoint(string path, FileStream file, CheckpointManifest manifest, byte[] manifestBytes, Dictionary<string, byte[]> entries)
    {
        Path = path;
        _file = file;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        _entries = entries;
    }

    public string Path { get; }

    public CheckpointManifest Manifest { get; }

    internal byte[] ManifestBytes { get; }

    /// <summary>NewLlm's own small records (<c>rng.bin</c>, <c>tokenizer.json</c>), verified, by their names under <c>newllm/</c>.</summary>
    internal IReadOnlyDictionary<string, byte[]> Entries => _entries;

    public void Dispose() => _file.Dispose();

    /// <summary>Writes a checkpoint of a run's whole state to <paramref name="path"/> (replaced whole, never torn).</summary>
    public static void Save(string path, CheckpointKind kind, TrainerOptions options, LanguageModel model, OptimizerHelper optimizer,
        TrainerState state, IEnumerable<ICheckpointStateful> statefulCallbacks, DialogueTokenizer? tokenizer)
    {
        var newLlmEntries = new List<KeyValuePair<string, byte[]>>();
        using (Tensor rng = torch.random.get_rng_state())
        {
            newLlmEntries.Add(new(NewLlmFolder + RngEntry, rng.data<byte>().ToArray()));
        }

        if (tokenizer is not null)
        {
            using var stream = new MemoryStream();
            tokenizer.Save(stream);
            newLlmEntries.Add(new(NewLlmFolder + TokenizerEntry, stream.ToArray()));
        }

        var manifest = new CheckpointManifest
        {
            CreatedUtc = DateTimeOffset.UtcNow,
            Kind = kind,
            ModelName = options.ModelName,
            TrainerOptions = options.Describe(),
            State = state,
            TokenizerKind = tokenizer?.Kind,
            TokenizerFingerprint = tokenizer?.Fingerprint,
        };
        CheckpointModel.Record(manifest, model);
        foreach (ICheckpointStateful stateful in statefulCallbacks)
        {
            manifest.CallbackStates[stateful.StateKey] = stateful.SaveState();
        }

        // PyTorch's records first, then NewLlm's under newllm/ (torch.load never reads them), the manifest holding every hash.
        using PyTorchCheckpoint part = PyTorchCheckpointPart.Compose(model, optimizer, state, options);
        AtomicFile.Write(path, file => part.Write(file, pyTorchHashes =>
        {
            manifest.EntryHashes = new Dictionary<string, string>(pyTorchHashes, StringComparer.Ordinal);
            foreach ((string name, byte[] bytes) in newLlmEntries)
            {
                manifest.EntryHashes[name] = Sha256(bytes);
            }

            byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, SerializerOptions);
            return
            [
                new(NewLlmFolder + ManifestEntry, manifestBytes),
                new(NewLlmFolder + ManifestHashEntry, System.Text.Encoding.ASCII.GetBytes(Sha256(manifestBytes))),
                .. newLlmEntries,
            ];
        }), flushToDisk: true);
    }

    /// <summary>Reads a checkpoint and verifies its zip CRCs, format, version, manifest hash, entries and hashes, and its model options.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or is truncated or corrupted.</exception>
    public static TrainingCheckpoint Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            string[] checkpoints = [.. Directory.EnumerateFiles(path, "*.pt").Select(f => System.IO.Path.GetFileName(f)).Order(StringComparer.Ordinal)];
            throw new FileNotFoundException(
                $"Checkpoint '{path}' is a folder, not a checkpoint file: give one of the checkpoint files in it"
                + (checkpoints.Length == 0 ? " (it holds none)." : $" ({string.Join(", ", checkpoints)}; a run continues from its _final.pt or _interrupted.pt)."),
                path);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            (CheckpointManifest manifest, byte[] manifestBytes, Dictionary<string, byte[]> entries) = CheckpointVerifier.Verify(path, file);
            return new TrainingCheckpoint(path, file, manifest, manifestBytes, entries);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether the file is a PyTorch checkpoint that NewLlm did not write (no NewLlm manifest, but a <c>data.pkl</c>):
    /// the original trainer's, for one. Anything unreadable is not (it goes to <see cref="Read"/> for its message).
    /// </summary>
    public static bool IsForeignPyTorchFile(string path)
    {
        try
        {
            using FileStream file = File.OpenRead(path);
            using PyTorchCheckpointRecords records = PyTorchCheckpointRecords.Open(file, path);
            return !records.Sizes.ContainsKey(NewLlmFolder + ManifestEntry);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>A new model with the checkpoint's sizes and weights, on the CPU, in evaluation mode.</summary>
    public LanguageModel CreateModel()
    {
        LanguageModel model = CheckpointModel.Create(Manifest);
        try
        {
            model.LoadPyTorch(Rewound(), Path);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The stored tokenizer, or null when none was stored.</summary>
    public DialogueTokenizer? ReadTokenizer()
    {
        if (!_entries.TryGetValue(TokenizerEntry, out byte[]? bytes))
        {
            return null;
        }

        using var stream = new MemoryStream(bytes, writable: false);
        return DialogueTokenizer.Load(stream);
    }

    /// <summary>
    /// Restores a run: checks everything, then puts the weights, the optimizer state, the callbacks' states (into those
    /// that claim them) and the generator state in; returns the saved state and the unclaimed callback states. On any
    /// failure nothing is changed.
    /// </summary>
    public (TrainerState State, Dictionary<string, JsonNode?> Unclaimed) Restore(LanguageModel model, OptimizerHelper optimizer,
        IReadOnlyCollection<ICheckpointStateful> statefulCallbacks, DialogueTokenizer? tokenizer)
    {
        if (tokenizer is not null)
        {
            Manifest.CheckTokenizer(tokenizer, Path, "this run's", "Resume with the checkpoint's tokenizer (CheckpointFile.LoadTokenizer).");
        }

        CheckpointModel.CheckSame(Manifest, model, Path);

        // Check: the PyTorch part is read (its shapes checked against the manifest's model, which is this model's) and
        // every part is checked against the model and the optimizer; nothing is changed yet.
        using PyTorchCheckpoint part = PyTorchCheckpoint.Read(Rewound(), Path, model);
        if (part.IsStateDictOnly || part.Optimizer is null)
        {
            throw new InvalidDataException($"{Path}: the checkpoint's PyTorch part has no optimizer state dict ('optimizer_state_dict').");
        }

        Action apply = PyTorchCheckpointPart.Prepare(part, part.Optimizer, model, optimizer, Path);
        using (Tensor generatorNow = torch.random.get_rng_state())
        {
            if (_entries[RngEntry].Length != generatorNow.shape[0])
            {
                throw new InvalidDataException($"{Path}: the random generator state has {_entries[RngEntry].Length} bytes, {generatorNow.shape[0]} expected.");
            }
        }

        // Apply: callback states first (the only step that can still fail, and it is rolled back), then the rest.
        var unclaimed = new Dictionary<string, JsonNode?>(Manifest.CallbackStates, StringComparer.Ordinal);
        var applied = new List<(ICheckpointStateful Callback, JsonNode Before)>();
        foreach (ICheckpointStateful stateful in statefulCallbacks)
        {
            if (!unclaimed.Remove(stateful.StateKey, out JsonNode? state) || state is null)
            {
                continue;
            }

            JsonNode before = stateful.SaveState();
            try
            {
                stateful.LoadState(state.DeepClone());
                applied.Add((stateful, before));
            }
            catch (Exception ex)
            {
                foreach ((ICheckpointStateful callback, JsonNode previous) in applied)
                {
                    callback.LoadState(previous);
                }

                throw new InvalidDataException($"{Path}: the state saved under '{stateful.StateKey}' cannot be loaded into {stateful.GetType().Name}: {ex.Message}", ex);
            }
        }

        apply();
        optimizer.to(model.Device);
        using (Tensor generator = torch.tensor(_entries[RngEntry], dtype: ScalarType.Byte))
        {
            torch.random.set_rng_state(generator);
        }

        return (Manifest.State, unclaimed);
    }

    private FileStream Rewound()
    {
        _file.Position = 0;
        return _file;
    }

    internal static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
