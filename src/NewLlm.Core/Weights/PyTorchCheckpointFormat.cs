using System.Collections;
using System.Collections.Specialized;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// Reads and writes <see cref="PyTorchCheckpoint"/>s. Reading goes through <see cref="TorchArchive"/> (the restricted
/// <see cref="PickleReader"/>, then tensors read straight from their records once every shape has been checked), so a
/// hostile file costs at most the model's own size; writing goes through TorchSharp.PyBridge's
/// <see cref="PyTorchPickler"/>, which lays out dicts, lists, tuples, numbers, strings and tensors as torch.save does.
/// </summary>
internal static class PyTorchCheckpointFormat
{
    private const string ModelStateKey = "model_state_dict";
    private const string OptimizerKey = "optimizer_state_dict";
    private const string EpochKey = "current_epoch";
    private const string ConfigKey = "config";

    /// <summary>Step counts from this one on are not exact in float32, so they are written as float64.</summary>
    private const double LargestExactFloat32 = 1 << 24;

    /// <summary>The four per-epoch lists of the original, by key.</summary>
    private static readonly string[] ListKeys = ["train_losses", "val_losses", "train_ppls", "val_ppls"];

    /// <summary>Reads the whole checkpoint dict (or a flat state dict) from a file.</summary>
    public static PyTorchCheckpoint Read(string path)
    {
        string fullPath = Existing(path);
        using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, fullPath, expected: null, modelOnly: false);
    }

    /// <summary>
    /// Reads a checkpoint with bounded memory: the pickle first, then every shape is checked (the model's against
    /// <paramref name="expected"/>, or against the sizes its own shapes imply; Adam's moments against their
    /// parameters), and only then are the tensors read, straight from their records. Nothing else in the file is
    /// inflated. With <paramref name="modelOnly"/>, only the model's state is read.
    /// </summary>
    public static PyTorchCheckpoint Read(Stream stream, string source, NewLlmOptions? expected, bool modelOnly)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using TorchArchive archive = TorchArchive.Open(stream, source);
        PickleDict root = RootDict(archive.Root, source);
        List<KeyValuePair<string, TensorRecord>> model = ModelRecords(root, source, out bool flat);
        List<KeyValuePair<string, long[]>> shapes = CheckModel(model, expected, source);
        var checkpoint = new PyTorchCheckpoint { IsStateDictOnly = flat };
        try
        {
            var adamRecords = new List<(int Index, TensorRecord ExpAvg, TensorRecord ExpAvgSq, TensorRecord? Max)>();
            if (!flat && !modelOnly)
            {
                if (root[OptimizerKey] is { } optimizer)
                {
                    checkpoint.Optimizer = ReadAdam(optimizer, shapes, source, archive, adamRecords);
                }

                checkpoint.TrainLosses = ReadList(root, ListKeys[0], source, archive);
                checkpoint.ValLosses = ReadList(root, ListKeys[1], source, archive);
                checkpoint.TrainPpls = ReadList(root, ListKeys[2], source, archive);
                checkpoint.ValPpls = ReadList(root, ListKeys[3], source, archive);
                if (root[EpochKey] is { } epoch)
                {
                    checkpoint.CurrentEpoch = epoch is long e and >= int.MinValue and <= int.MaxValue ? (int)e : throw TorchArchive.Bad(source, $"'{EpochKey}' is {PickleValues.Describe(epoch)}, not an integer.");
                }

                ReadConfig(root[ConfigKey], checkpoint, source);
            }

            // Every shape is known to fit: now the tensors are read.
            var modelState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach ((string name, TensorRecord record) in model)
            {
                modelState[name] = checkpoint.Own(archive.Read(record, $"{ModelStateKey}.{name}"));
            }

            checkpoint.ModelState = modelState;
            foreach ((int index, TensorRecord expAvg, TensorRecord expAvgSq, TensorRecord? max) in adamRecords)
            {
                PyTorchAdamParameterState state = checkpoint.Optimizer!.State[index];
                string where = $"{OptimizerKey}.state.{index}";
                state.ExpAvg = checkpoint.Own(archive.Read(expAvg, $"{where}.exp_avg"));
                state.ExpAvgSq = checkpoint.Own(archive.Read(expAvgSq, $"{where}.exp_avg_sq"));
                state.MaxExpAvgSq = max is null ? null : checkpoint.Own(archive.Read(max, $"{where}.max_exp_avg_sq"));
            }

            return checkpoint;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>The full path of an existing file; a missing one is a <see cref="FileNotFoundException"/> naming it.</summary>
    public static string Existing(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath = Path.GetFullPath(path);
        return File.Exists(fullPath) ? fullPath : throw new FileNotFoundException($"{fullPath}: the PyTorch checkpoint does not exist.", fullPath);
    }

    private static PickleDict RootDict(object? root, string source) => root switch
    {
        PickleDict dict => dict,
        PickledObject o when o.Type.Module == "__main__" || o.Type.Module.StartsWith("torch.nn", StringComparison.Ordinal) =>
            throw TorchArchive.Bad(source, $"it holds a whole pickled module (torch.save(model)), not a state dict: an instance of {o.Type.FullName}. In PyTorch, save model.state_dict() instead."),
        PickledObject o => throw TorchArchive.Bad(source, $"it holds a call of {o.Type.FullName} (never made: reading runs nothing from a file), not a checkpoint dict or a state dict."),
        _ => throw TorchArchive.Bad(source, $"it holds {PickleValues.Describe(root)}, not a checkpoint dict or a state dict."),
    };

    /// <summary>
    /// The model state dict's tensor records: <c>model_state_dict</c> of a checkpoint dict, or the root itself when it
    /// is a flat state dict (every value a tensor).
    /// </summary>
    private static List<KeyValuePair<string, TensorRecord>> ModelRecords(PickleDict root, string source, out bool flat)
    {
        flat = !root.ContainsKey(ModelStateKey);
        if (flat && (root.Count == 0 || root.Items.Any(kv => kv.Value is not TensorRecord)))
        {
            string keys = string.Join(", ", root.Keys.Select(k => $"'{k}'").Order(StringComparer.Ordinal).Take(12));
            throw TorchArchive.Bad(source, $"it has no '{ModelStateKey}' and is not a state dict either (its top-level keys: {(keys.Length == 0 ? "none" : keys)}). Pass the original trainer's checkpoint or a torch.save(model.state_dict()) file.");
        }

        object? state = flat ? root : root[ModelStateKey];
        if (state is not PickleDict dict)
        {
            throw TorchArchive.Bad(source, $"'{ModelStateKey}' is {PickleValues.Describe(state)}, not a dict of tensors.");
        }

        var records = new List<KeyValuePair<string, TensorRecord>>();
        foreach ((object key, object? value) in dict.Items)
        {
            records.Add(new(key as string ?? throw TorchArchive.Bad(source, $"'{ModelStateKey}' has a key {PickleValues.Describe(key)}, not a parameter name."),
                value as TensorRecord ?? throw TorchArchive.Bad(source, $"'{ModelStateKey}' entry '{key}' is {PickleValues.Describe(value)}, not a tensor.")));
        }

        return records;
    }

    /// <summary>
    /// Checks, before anything is read, that the records are exactly the parameters of a New-LLM model of
    /// <paramref name="expected"/> sizes, or of the sizes their shapes imply; returns that model's names and shapes.
    /// </summary>
    private static List<KeyValuePair<string, long[]>> CheckModel(List<KeyValuePair<string, TensorRecord>> records, NewLlmOptions? expected, string source)
    {
        var declared = records.ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal);
        NewLlmOptions options;
        try
        {
            options = expected ?? SafetensorsWeights.InferOptions(declared, source);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw TorchArchive.Bad(source, $"its '{ModelStateKey}' implies impossible model sizes ({ex.Message}).", ex);
        }

        List<KeyValuePair<string, long[]>> shapes = ParameterShapes.Of(options);
        List<string> problems = ParameterShapes.Problems(declared, shapes, allowUnexpected: false);
        if (problems.Count > 0)
        {
            throw TorchArchive.Bad(source, $"its '{ModelStateKey}' does not hold a New-LLM model with {Sizes(options)}: {string.Join("; ", problems)}.{(expected is null ? string.Empty : Holds(declared, source))}");
        }

        return shapes;
    }

    /// <summary>What the file holds, for a message about a model of other sizes: the sizes its shapes imply, when they imply any.</summary>
    private static string Holds(Dictionary<string, long[]> declared, string source)
    {
        try
        {
            return $" The file holds a model with {Sizes(SafetensorsWeights.InferOptions(declared, source))}: create it with NewLlmModel.FromPyTorch, or build this model with those sizes.";
        }
        catch (Exception ex) when (ex is InvalidDataException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            return " Check that the file is a New-LLM state dict.";
        }
    }

    private static string Sizes(NewLlmOptions o) =>
        $"VocabSize={o.VocabSize}, EmbedDim={o.EmbedDim}, HiddenDim={o.HiddenDim}, ContextDim={o.ContextDim}, NumLayers={o.NumLayers}";

    private static void ReadConfig(object? config, PyTorchCheckpoint checkpoint, string source)
    {
        try
        {
            switch (config)
            {
                case null:
                    break;
                case PickledObject { State: PickleDict or null } instance:
                    checkpoint.ConfigClassName = instance.Type.FullName;
                    checkpoint.Config = instance.State is PickleDict attributes ? (Dictionary<string, object?>)PickleValues.Plain(attributes, ConfigKey)! : [];
                    break;
                case PickleDict dict:
                    checkpoint.Config = (Dictionary<string, object?>)PickleValues.Plain(dict, ConfigKey)!;
                    break;
                default:
                    throw new InvalidDataException($"'{ConfigKey}' is {PickleValues.Describe(config)}, neither an object nor a dict.");
            }
        }
        catch (InvalidDataException ex)
        {
            throw TorchArchive.Bad(source, ex.Message, ex);
        }
    }

    /// <summary>Writes the checkpoint through <see cref="AtomicFile"/>.</summary>
    public static void Write(PyTorchCheckpoint checkpoint, string path)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var copies = new List<Tensor>();
        try
        {
            var root = new OrderedDictionary
            {
                [ModelStateKey] = StateForPickle(checkpoint.ModelState, copies),
            };
            if (checkpoint.Optimizer is { } adam)
            {
                root[OptimizerKey] = AdamForPickle(adam, copies);
            }

            root[ListKeys[0]] = new ArrayList(checkpoint.TrainLosses.ToArray());
            root[ListKeys[1]] = new ArrayList(checkpoint.ValLosses.ToArray());
            root[ListKeys[2]] = new ArrayList(checkpoint.TrainPpls.ToArray());
            root[ListKeys[3]] = new ArrayList(checkpoint.ValPpls.ToArray());
            if (checkpoint.CurrentEpoch is int epoch)
            {
                root[EpochKey] = epoch;
            }

            root[ConfigKey] = ConfigForPickle(checkpoint.Config, ConfigKey);
            WriteRoot(root, path);
        }
        finally
        {
            foreach (Tensor copy in copies)
            {
                copy.Dispose();
            }
        }
    }

    /// <summary>Writes a flat state dict (parameter name to tensor) as <c>torch.save(model.state_dict())</c> would.</summary>
    public static void WriteStateDict(IEnumerable<KeyValuePair<string, Tensor>> state, string path)
    {
        var copies = new List<Tensor>();
        try
        {
            WriteRoot(StateForPickle(state, copies), path);
        }
        finally
        {
            foreach (Tensor copy in copies)
            {
                copy.Dispose();
            }
        }
    }

    private static void WriteRoot(IDictionary root, string path) =>
        AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, root, leaveOpen: true), flushToDisk: true);

    /// <summary>
    /// Name to a contiguous CPU copy with no gradient and storage offset 0 (PyBridge writes a tensor's bytes as
    /// they lie and records its offset and strides, so a view must not reach it).
    /// </summary>
    private static OrderedDictionary StateForPickle(IEnumerable<KeyValuePair<string, Tensor>> state, List<Tensor> copies)
    {
        ArgumentNullException.ThrowIfNull(state);
        var dict = new OrderedDictionary();
        foreach ((string name, Tensor tensor) in state)
        {
            dict[name] = Copy(tensor, copies);
        }

        return dict;
    }

    private static Tensor Copy(Tensor tensor, List<Tensor> copies)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var noGrad = no_grad();
        Tensor copy = tensor.detach().cpu().contiguous().clone().DetachFromDisposeScope();
        copies.Add(copy);
        return copy;
    }

    /// <summary>PyTorch's Adam state dict layout: <c>{"state": {i: {step, exp_avg, exp_avg_sq}}, "param_groups": [...]}</c>.</summary>
    private static OrderedDictionary AdamForPickle(PyTorchAdamState adam, List<Tensor> copies)
    {
        var state = new OrderedDictionary();
        foreach ((int index, PyTorchAdamParameterState s) in adam.State.OrderBy(kv => kv.Key))
        {
            // float32 as PyTorch keeps it, float64 from 2^24 steps on, where float32 would round the count.
            Tensor step = (s.Step < LargestExactFloat32 ? tensor((float)s.Step, dtype: ScalarType.Float32) : tensor(s.Step, dtype: ScalarType.Float64)).DetachFromDisposeScope();
            copies.Add(step);
            var entry = new OrderedDictionary { ["step"] = step, ["exp_avg"] = Copy(s.ExpAvg, copies), ["exp_avg_sq"] = Copy(s.ExpAvgSq, copies) };
            if (s.MaxExpAvgSq is { } max)
            {
                entry["max_exp_avg_sq"] = Copy(max, copies);
            }

            state.Add(index, entry);  // Add: OrderedDictionary's int indexer is positional
        }

        var groups = new ArrayList();
        foreach (PyTorchAdamParamGroup g in adam.ParamGroups)
        {
            // Every key PyTorch's Adam keeps in a group (torch 1.13 to 2.x), so that load_state_dict leaves none unset.
            var group = new OrderedDictionary
            {
                ["lr"] = g.LearningRate,
                ["betas"] = new object[] { g.Beta1, g.Beta2 },
                ["eps"] = g.Eps,
                ["weight_decay"] = g.WeightDecay,
                ["amsgrad"] = g.Amsgrad,
                ["maximize"] = g.Maximize,
                ["foreach"] = null,
                ["capturable"] = false,
                ["differentiable"] = false,
                ["fused"] = null,
            };
            if (g.InitialLearningRate is double initial)
            {
                group["initial_lr"] = initial;
            }

            group["params"] = new ArrayList(g.ParameterIndices.ToArray());
            groups.Add(group);
        }

        // PyTorch's order (a Hashtable's would change from one process to the next, and so would the file's bytes).
        return new OrderedDictionary { ["state"] = state, ["param_groups"] = groups };
    }

    /// <summary>A config value as a weights-only load accepts it: null, bool, int, long, double, string, lists and string-keyed dicts of those.</summary>
    private static object? ConfigForPickle(object? value, string where) => value switch
    {
        null or bool or int or string => value,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        float or double => Convert.ToDouble(value, null),
        IDictionary dict => ConfigDict(dict, where),
        IEnumerable items => new ArrayList(items.Cast<object?>().Select((v, i) => ConfigForPickle(v, $"{where}[{i}]")).ToArray()),
        _ => throw new ArgumentException($"PyTorchCheckpoint.Config: '{where}' is {Written(value)}; only null, bool, 32-bit integers, floating-point numbers, strings, lists and string-keyed dicts of those can be written (torch.load with weights_only=True reads nothing else).", nameof(value)),
    };

    /// <summary>A .NET value, for a message about what cannot be written.</summary>
    private static string Written(object? value) => value is null ? "null" : $"{value} ({value.GetType().Name})";

    private static OrderedDictionary ConfigDict(IDictionary dict, string where)
    {
        var result = new OrderedDictionary();
        foreach (DictionaryEntry entry in dict)
        {
            string key = entry.Key as string ?? throw new ArgumentException($"PyTorchCheckpoint.Config: '{where}' has a key {Written(entry.Key)}; keys must be strings.", nameof(dict));
            result[key] = ConfigForPickle(entry.Value, where == ConfigKey ? key : $"{where}.{key}");
        }

        return result;
    }

    /// <summary>
    /// Adam's state dict, its moments checked against their parameters' shapes (<paramref name="shapes"/>, in the
    /// model's order) and recorded in <paramref name="records"/> to be read once every check has passed.
    /// </summary>
    private static PyTorchAdamState ReadAdam(object optimizer, List<KeyValuePair<string, long[]>> shapes, string source, TorchArchive archive,
        List<(int Index, TensorRecord ExpAvg, TensorRecord ExpAvgSq, TensorRecord? Max)> records)
    {
        if (optimizer is not PickleDict dict || dict["state"] is not PickleDict state || dict["param_groups"] is not List<object?> groups)
        {
            throw TorchArchive.Bad(source, $"'{OptimizerKey}' is not a PyTorch optimizer state dict (it needs 'state' and 'param_groups').");
        }

        var adam = new PyTorchAdamState();
        foreach ((object key, object? value) in state.Items)
        {
            int index = key is long k && k >= 0 && k < shapes.Count
                ? (int)k
                : throw TorchArchive.Bad(source, $"'{OptimizerKey}' has a state for parameter {PickleValues.Describe(key)}; the model has {shapes.Count} parameters (0 to {shapes.Count - 1}).");
            string where = $"'{OptimizerKey}' state of parameter {index} ({shapes[index].Key})";
            if (value is not PickleDict s)
            {
                throw TorchArchive.Bad(source, $"{where} is {PickleValues.Describe(value)}, not a dict.");
            }

            if (s["exp_avg"] is not TensorRecord expAvg || s["exp_avg_sq"] is not TensorRecord expAvgSq)
            {
                string keys = string.Join(", ", s.Keys.Select(x => $"'{x}'").Order(StringComparer.Ordinal));
                throw TorchArchive.Bad(source, $"{where} has no 'exp_avg' and 'exp_avg_sq' tensors (its keys: {keys}), so it is not Adam's. Only Adam's state can be read.");
            }

            TensorRecord? max = s["max_exp_avg_sq"] as TensorRecord;
            foreach ((string name, TensorRecord? moment) in new[] { ("exp_avg", expAvg), ("exp_avg_sq", expAvgSq), ("max_exp_avg_sq", max) })
            {
                if (moment is not null && !moment.Shape.SequenceEqual(shapes[index].Value))
                {
                    throw TorchArchive.Bad(source, $"{where}: '{name}' is a tensor of shape {moment.ShapeText}; the parameter is [{string.Join(", ", shapes[index].Value)}].");
                }
            }

            adam.State[index] = new PyTorchAdamParameterState
            {
                Step = Number(s["step"], $"{where}: 'step'", source, archive),
                ExpAvg = null!, // read below, once every shape is checked
                ExpAvgSq = null!,
            };
            records.Add((index, expAvg, expAvgSq, max));
        }

        for (int i = 0; i < groups.Count; i++)
        {
            string where = $"'{OptimizerKey}' param group {i}";
            if (groups[i] is not PickleDict g)
            {
                throw TorchArchive.Bad(source, $"{where} is {PickleValues.Describe(groups[i])}, not a dict.");
            }

            IList<object?>? betas = g["betas"] switch { object?[] tuple => tuple, List<object?> list => list, _ => null };
            if (betas is not { Count: 2 })
            {
                throw TorchArchive.Bad(source, $"{where} has 'betas' {PickleValues.Describe(g["betas"])}, not a pair; only Adam's state can be read.");
            }

            adam.ParamGroups.Add(new PyTorchAdamParamGroup
            {
                LearningRate = InRange(Number(g["lr"], $"{where}: 'lr'", source, archive), 0, double.MaxValue, $"{where}: 'lr'", source),
                Beta1 = InRange(Number(betas[0], $"{where}: 'betas'", source, archive), 0, 1, $"{where}: 'betas'[0]", source),
                Beta2 = InRange(Number(betas[1], $"{where}: 'betas'", source, archive), 0, 1, $"{where}: 'betas'[1]", source),
                Eps = InRange(Number(g["eps"], $"{where}: 'eps'", source, archive), 0, double.MaxValue, $"{where}: 'eps'", source),
                WeightDecay = InRange(Number(g["weight_decay"], $"{where}: 'weight_decay'", source, archive), 0, double.MaxValue, $"{where}: 'weight_decay'", source),
                Amsgrad = g["amsgrad"] is true,
                Maximize = g["maximize"] is true,
                InitialLearningRate = g["initial_lr"] is { } initial ? Number(initial, $"{where}: 'initial_lr'", source, archive) : null,
                ParameterIndices = (g["params"] as List<object?> ?? throw TorchArchive.Bad(source, $"{where} has no 'params' list."))
                    .Select(p => p is long n && n >= 0 && n < shapes.Count ? (int)n : throw TorchArchive.Bad(source, $"{where} has a parameter {PickleValues.Describe(p)}; the model has {shapes.Count} (0 to {shapes.Count - 1}).")).ToList(),
            });
        }

        return adam;
    }

    /// <summary>A hyper-parameter in [<paramref name="min"/>, <paramref name="max"/>] (so never NaN or infinite), or the file is refused naming it.</summary>
    private static double InRange(double value, double min, double max, string what, string source) =>
        value >= min && value <= max && double.IsFinite(value)
            ? value
            : throw TorchArchive.Bad(source, $"{what} is {value}, which Adam cannot use (it must be a number from {min} to {(max == double.MaxValue ? "any finite value" : max)}).");

    private static List<double> ReadList(PickleDict root, string key, string source, TorchArchive archive)
    {
        return root[key] switch
        {
            null => [],
            List<object?> list => list.Select((v, i) => Number(v, $"'{key}'[{i}]", source, archive)).ToList(),
            object other => throw TorchArchive.Bad(source, $"'{key}' is {PickleValues.Describe(other)}, not a list of numbers."),
        };
    }

    /// <summary>A Python number, or a tensor of one element (read: its storage is one element too), as a double.</summary>
    private static double Number(object? value, string what, string source, TorchArchive archive)
    {
        switch (value)
        {
            case double d:
                return d;
            case long l:
                return l;
            case bool b:
                return b ? 1 : 0;
            case TensorRecord { Count: 1 } record:
                using (Tensor t = archive.Read(record, what))
                using (Tensor d = t.to_type(ScalarType.Float64))
                {
                    return d.item<double>();
                }

            default:
                throw TorchArchive.Bad(source, $"{what} is {PickleValues.Describe(value)}, not a number.");
        }
    }
}
