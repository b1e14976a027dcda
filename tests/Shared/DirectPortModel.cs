using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Testing;

/// <summary>
/// The oracle: a line-by-line port of the original PyTorch per-position loop (time-major slices, no hoisting, no
/// fusion, plain autograd), run over the parameters of a model with the original's parameter names. The library's
/// fast path must compute the same function. Uses TorchSharp only, never the library, so that it stays independent
/// of the code it checks; linked into the Core tests and the benchmarks.
/// </summary>
internal static class DirectPortModel
{
    /// <summary>Logits [B, T, V] for token ids [B, T], from a zero context.</summary>
    /// <param name="model">The model whose parameters are read (by the original's names); its <c>training</c> flag switches dropout.</param>
    /// <param name="dropout">Dropout probability of every FNN layer (applied in training mode only).</param>
    /// <param name="ids">Token ids, int64 [B, T].</param>
    public static Tensor Forward(nn.Module model, double dropout, Tensor ids) => ForwardWithContexts(model, dropout, ids).Logits;

    /// <summary>
    /// Logits with given dropout masks [T, L, B, H] (already scaled by 1 / (1 - p)) in place of <c>F.dropout</c>'s
    /// own draws: h = relu(linear(h)) * masks[t, l].
    /// </summary>
    public static Tensor ForwardWithMasks(nn.Module model, Tensor ids, Tensor masks) => ForwardWithContexts(model, 0.0, ids, null, masks).Logits;

    /// <summary>Logits [B, T, V] and the context after every position [B, T, C], from <paramref name="initialContext"/> (zeros when null).</summary>
    /// <param name="model">The model whose parameters are read; its <c>training</c> flag switches dropout.</param>
    /// <param name="dropout">Dropout probability of every FNN layer (applied in training mode only, and only without <paramref name="masks"/>).</param>
    /// <param name="ids">Token ids, int64 [B, T].</param>
    /// <param name="initialContext">The context before the first position [B, C]; zeros when null.</param>
    /// <param name="masks">Dropout masks [T, L, B, H] to multiply by instead of drawing; null to draw with <c>F.dropout</c>.</param>
    public static (Tensor Logits, Tensor Contexts) ForwardWithContexts(nn.Module model, double dropout, Tensor ids, Tensor? initialContext = null, Tensor? masks = null)
    {
        Dictionary<string, Tensor> p = model.state_dict();
        int layers = 0;
        while (p.ContainsKey($"fnn_layers.{3 * layers}.weight"))
        {
            layers++;
        }

        long contextDim = p["context_norm.weight"].shape[0];
        Tensor emb = p["token_embedding.weight"].index_select(0, ids.reshape(-1)).reshape(ids.shape[0], ids.shape[1], -1).transpose(0, 1);   // [T, B, E]
        Tensor ctx = initialContext ?? zeros(ids.shape[0], contextDim, dtype: emb.dtype);
        var logits = new List<Tensor>();
        var contexts = new List<Tensor>();
        Tensor[] steps = emb.unbind(0);
        for (int t = 0; t < steps.Length; t++)
        {
            Tensor e = steps[t];
            Tensor h = cat(new[] { e, ctx }, -1);
            for (int i = 0; i < layers; i++)
            {
                Tensor a = F.relu(F.linear(h, p[$"fnn_layers.{3 * i}.weight"], p[$"fnn_layers.{3 * i}.bias"]));
                h = masks is null ? F.dropout(a, dropout, model.training) : a * masks[t, i];
            }

            logits.Add(F.linear(h, p["token_output.weight"], p["token_output.bias"]));
            Tensor cand = F.linear(h, p["context_update.weight"], p["context_update.bias"]);
            Tensor f = sigmoid(F.linear(h, p["forget_gate.weight"], p["forget_gate.bias"]));
            Tensor g = sigmoid(F.linear(h, p["input_gate.weight"], p["input_gate.bias"]));
            ctx = clamp(F.layer_norm(f * ctx + g * cand, new long[] { contextDim }, p["context_norm.weight"], p["context_norm.bias"]), -10.0, 10.0);
            contexts.Add(ctx);
        }

        return (stack(logits, 1), stack(contexts, 1));
    }
}
