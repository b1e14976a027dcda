namespace NewLlm.Training;

/// <summary>
/// Verifies a training checkpoint file before anything in it is used, bounded by what its manifest declares: records it
/// does not list and declared sizes the manifest's model cannot need are refused before anything is read, then every
/// record is streamed through its CRC-32 and SHA-256, holding only NewLlm's small records in memory.
/// </summary>
internal static class CheckpointVerifier
{
    /// <summary>The largest manifest read (a run of thousands of epochs has a manifest of a few megabytes).</summary>
    private const long MaxManifestBytes = 64L << 20;

    /// <summary>The largest data.pkl read: Core's own bound (internal to it) for PyTorchCheckpoint.Read.</summary>
    private const long MaxPickleBytes = 64L << 20;

    /// <summary>The largest stored tokenizer read (a word-level vocabulary of a million words is about 20 MB).</summary>
    private const long MaxTokenizerBytes = 256L << 20;

    /// <summary>What the file may hold besides the model's tensors and Adam's three moments per parameter: the pickle, the small records, the step counts.</summary>
    private const long SlackBytes = 96L << 20;

    /// <summary>Verifies the whole file, streamed; returns the manifest and NewLlm's small records.</summary>
    public static (CheckpointManifest Manifest, byte[] ManifestBytes, Dictionary<string, byte[]> Entries) Verify(string path, FileStream file)
    {
        const string manifestName = TrainingCheckpoint.NewLlmFolder + TrainingCheckpoint.ManifestEntry;
        const string hashName = TrainingCheckpoint.NewLlmFolder + TrainingCheckpoint.ManifestHashEntry;
        try
        {
            using PyTorchCheckpointRecords records = PyTorchCheckpointRecords.Open(file, path);
            if (!records.Sizes.ContainsKey(manifestName))
            {
                throw new InvalidDataException($"{path}: not a NewLlm checkpoint: it is a PyTorch file without NewLlm's '{manifestName}' (the original trainer's checkpoint, for one). Trainer.LoadCheckpoint resumes from the original's checkpoint; NewLlmModel.FromPyTorch (TransformerBaselineModel.FromPyTorch for a baseline's) opens its weights.");
            }

            byte[] manifestBytes = records.Read(manifestName, MaxManifestBytes);
            if (!records.Sizes.ContainsKey(hashName))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{TrainingCheckpoint.ManifestHashEntry}' (the SHA-256 of '{TrainingCheckpoint.ManifestEntry}') is missing. Use another checkpoint of the run or train again.");
            }

            if (System.Text.Encoding.ASCII.GetString(records.Read(hashName, 128)) != TrainingCheckpoint.Sha256(manifestBytes))
            {
                throw new InvalidDataException(
                    $"{path}: the checkpoint is corrupted: '{TrainingCheckpoint.ManifestEntry}' does not match its SHA-256 in '{TrainingCheckpoint.ManifestHashEntry}' (it was changed after it was written, perhaps edited by hand). Use another checkpoint of the run (best_, _epoch_ or _final file) or train again; a manifest cannot be edited.");
            }

            CheckpointManifest manifest = ParseManifest(path, manifestBytes);
            CheckpointModel.Validate(manifest, path);

            CheckState(path, manifest.State);
            Dictionary<string, long> sizes = records.Sizes.Where(r => r.Key is not manifestName and not hashName).ToDictionary(StringComparer.Ordinal);
            CheckListedAndSized(path, manifest, sizes);
            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (string name in sizes.Keys)
            {
                // NewLlm's small records are kept (their sizes were checked above), PyTorch's only hashed, streamed.
                string hash;
                if (name.StartsWith(TrainingCheckpoint.NewLlmFolder, StringComparison.Ordinal))
                {
                    byte[] bytes = records.Read(name, MaxTokenizerBytes);
                    entries[name[TrainingCheckpoint.NewLlmFolder.Length..]] = bytes;
                    hash = TrainingCheckpoint.Sha256(bytes);
                }
                else
                {
                    hash = records.Sha256(name);
                }

                if (manifest.EntryHashes[name] != hash)
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' does not match its SHA-256 in the manifest.");
                }
            }

            if (!entries.ContainsKey(TrainingCheckpoint.RngEntry))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{TrainingCheckpoint.NewLlmFolder}{TrainingCheckpoint.RngEntry}' is missing.");
            }

            return (manifest, manifestBytes, entries);
        }
        catch (InvalidDataException ex) when (ex.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: not a readable NewLlm checkpoint (truncated or corrupted?): {ex.Message}", ex);
        }
    }

    /// <summary>Refuses a trainer state no run can have (a manifest whose hash was recomputed after an edit).</summary>
    private static void CheckState(string path, TrainerState state)
    {
        string? wrong = state.BatchesIntoEpoch < 0 ? $"batches_into_epoch {state.BatchesIntoEpoch}"
            : state.GlobalStep < 0 ? $"global_step {state.GlobalStep}"
            : state.History.Select((r, i) => r.Epoch == i + 1 ? null : $"history record {i + 1} is of epoch {r.Epoch}").FirstOrDefault(w => w is not null)
            ?? (state.BestEpoch < 0 || state.BestEpoch > state.CompletedEpochs ? $"best_epoch {state.BestEpoch} of {state.CompletedEpochs} completed" : null);
        if (wrong is not null)
        {
            throw new InvalidDataException($"{path}: the checkpoint's trainer state is impossible ({wrong}): the manifest was edited. Use another checkpoint of the run or train again.");
        }
    }

    /// <summary>
    /// Refuses a record the manifest does not list (or a listed one that is missing), and declared sizes beyond the
    /// manifest's model: in all, four times its parameters (weights and Adam's moments) plus <see cref="SlackBytes"/>; per
    /// tensor record, its largest parameter.
    /// </summary>
    private static void CheckListedAndSized(string path, CheckpointManifest manifest, Dictionary<string, long> records)
    {
        if (records.Keys.FirstOrDefault(name => !manifest.EntryHashes.ContainsKey(name)) is string unlisted)
        {
            throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{unlisted}' ({records[unlisted]} bytes) is not listed in its manifest, so it was not written with it. Use another checkpoint of the run or train again.");
        }

        if (manifest.EntryHashes.Keys.FirstOrDefault(name => !records.ContainsKey(name)) is string missing)
        {
            throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{missing}' is missing.");
        }

        (long parameters, long largestElements) = CheckpointModel.Size(manifest);
        long parameterBytes = checked(parameters * sizeof(float));
        // The largest parameter, counted in 8-byte elements to leave room.
        long largest = checked(largestElements * sizeof(double));
        long budget = checked((4 * parameterBytes) + SlackBytes);
        long total = 0;
        foreach ((string name, long length) in records)
        {
            long limit = name.StartsWith("data/", StringComparison.Ordinal) ? largest
                : name == TrainingCheckpoint.DataPickle ? MaxPickleBytes
                : name.StartsWith(TrainingCheckpoint.NewLlmFolder, StringComparison.Ordinal) ? MaxTokenizerBytes
                : 64;
            if (length > limit)
            {
                throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' declares {length} bytes, more than the {limit} it can hold for a model with {CheckpointModel.Shape(manifest)}. Use another checkpoint of the run or train again.");
            }

            total = checked(total + length);
        }

        if (total > budget)
        {
            throw new InvalidDataException($"{path}: the checkpoint is corrupted: its records declare {total} bytes, more than the {budget} a model with {CheckpointModel.Shape(manifest)} and its optimizer state need. Use another checkpoint of the run or train again.");
        }
    }

    private static CheckpointManifest ParseManifest(string path, byte[] bytes)
    {
        CheckpointManifest? manifest;
        try
        {
            JsonNode? node = JsonNode.Parse(bytes);
            if (node?["format"]?.GetValue<string>() != CheckpointManifest.FormatName)
            {
                throw new InvalidDataException($"{path}: not a NewLlm training checkpoint (format '{node?["format"]}').");
            }

            int version = node["version"]?.GetValue<int>() ?? 0;
            if (version != CheckpointManifest.CurrentVersion)
            {
                throw new InvalidDataException($"{path}: checkpoint version {version} is not supported (this library reads version {CheckpointManifest.CurrentVersion}, the first it released).");
            }

            manifest = node.Deserialize<CheckpointManifest>(TrainingCheckpoint.SerializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: the checkpoint manifest is corrupted: {ex.Message}", ex);
        }

        return manifest ?? throw new InvalidDataException($"{path}: the checkpoint manifest is empty.");
    }
}
