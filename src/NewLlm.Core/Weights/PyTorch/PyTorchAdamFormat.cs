using System.Collections;
using System.Collections.Specialized;

namespace NewLlm;

/// <summary>
/// The one reader and writer of <c>torch.optim.Adam.state_dict()</c>: <c>{"state": {i: {step, exp_avg, exp_avg_sq[,
/// max_exp_avg_sq]}}, "param_groups": [...]}</c>, keys in PyTorch's order, <c>step</c> a float32 tensor as PyTorch keeps
/// it (float64 from 2^24 on, where float32 would round the count), <c>maximize</c> and <c>initial_lr</c> as given.
/// </summary>
internal static class PyTorchAdamFormat
{
    /// <summary>The checkpoint dict's key of the optimizer state.</summary>
    public const string Key = "optimizer_state_dict";

    /// <summary>Step counts from this one on are not exact in float32, so they are written as float64.</summary>
    private const double LargestExactFloat32 = 1 << 24;

    /// <summary>PyTorch's Adam state dict layout: <c>{"state": {i: {step, exp_avg, exp_avg_sq}}, "param_groups": [...]}</c>.</summary>
    public static OrderedDictionary ForPickle(PyTorchAdamState adam, List<Tensor> copies)
    {
        var state = new OrderedDictionary();
        foreach ((int index, PyTorchAdamParameterState s) in adam.State.OrderBy(kv => kv.Key))
        {
            Tensor step = (s.Step < LargestExactFloat32 ? tensor((float)s.Step, dtype: ScalarType.Float32) : tensor(s.Step, dtype: ScalarType.Float64)).DetachFromDisposeScope();
            copies.Add(step);
            var entry = new OrderedDictionary { ["step"] = step, ["exp_avg"] = PyTorchCheckpointFormat.ForPickle(s.ExpAvg, copies), ["exp_avg_sq"] = PyTorchCheckpointFormat.ForPickle(s.ExpAvgSq, copies) };
            if (s.MaxExpAvgSq is { } max)
            {
                entry["max_exp_avg_sq"] = PyTorchCheckpointFormat.ForPickle(max, copies);
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

    /// <summary>
    /// Adam's state dict, its moments checked against their parameters' shapes (<paramref name="shapes"/>, in the
    /// model's order) and recorded in <paramref name="records"/> to be read once every check has passed.
    /// </summary>
    public static PyTorchAdamState Read(object optimizer, List<KeyValuePair<string, long[]>> shapes, string source, TorchArchive archive,
        List<(int Index, TensorRecord ExpAvg, TensorRecord ExpAvgSq, TensorRecord? Max)> records)
    {
        if (optimizer is not PickleDict dict || dict["state"] is not PickleDict state || dict["param_groups"] is not List<object?> groups)
        {
            throw TorchArchive.Bad(source, $"'{Key}' is not a PyTorch optimizer state dict (it needs 'state' and 'param_groups').");
        }

        var adam = new PyTorchAdamState();
        foreach ((object key, object? value) in state)
        {
            int index = key is long k && k >= 0 && k < shapes.Count
                ? (int)k
                : throw TorchArchive.Bad(source, $"'{Key}' has a state for parameter {PickleValues.Describe(key)}; the model has {shapes.Count} parameters (0 to {shapes.Count - 1}).");
            string where = $"'{Key}' state of parameter {index} ({shapes[index].Key})";
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
                Step = PyTorchCheckpointFormat.Number(s["step"], $"{where}: 'step'", source, archive),
                ExpAvg = null!, // read below, once every shape is checked
                ExpAvgSq = null!,
            };
            records.Add((index, expAvg, expAvgSq, max));
        }

        for (int i = 0; i < groups.Count; i++)
        {
            string where = $"'{Key}' param group {i}";
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
                LearningRate = InRange(PyTorchCheckpointFormat.Number(g["lr"], $"{where}: 'lr'", source, archive), 0, double.MaxValue, $"{where}: 'lr'", source),
                Beta1 = InRange(PyTorchCheckpointFormat.Number(betas[0], $"{where}: 'betas'", source, archive), 0, 1, $"{where}: 'betas'[0]", source),
                Beta2 = InRange(PyTorchCheckpointFormat.Number(betas[1], $"{where}: 'betas'", source, archive), 0, 1, $"{where}: 'betas'[1]", source),
                Eps = InRange(PyTorchCheckpointFormat.Number(g["eps"], $"{where}: 'eps'", source, archive), 0, double.MaxValue, $"{where}: 'eps'", source),
                WeightDecay = InRange(PyTorchCheckpointFormat.Number(g["weight_decay"], $"{where}: 'weight_decay'", source, archive), 0, double.MaxValue, $"{where}: 'weight_decay'", source),
                Amsgrad = g["amsgrad"] is true,
                Maximize = g["maximize"] is true,
                InitialLearningRate = g["initial_lr"] is { } initial ? PyTorchCheckpointFormat.Number(initial, $"{where}: 'initial_lr'", source, archive) : null,
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
}
