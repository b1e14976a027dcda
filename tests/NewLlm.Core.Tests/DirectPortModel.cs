using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary>
/// The oracle: a line-by-line port of the original per-position loop (time-major slices, no hoisting, no fusion),
/// run over the parameters of a <see cref="NewLlmModel"/>. The fast path must compute the same function.
/// </summary>
internal static class DirectPortModel
{
    public static Tensor Forward(NewLlmModel model, Tensor ids) => ForwardWithContexts(model, ids).Logits;

    /// <summary>
    /// Logits with given dropout masks [T, L, B, H] (already scaled by 1 / (1 - p)) in place of <c>F.dropout</c>'s
    /// own draws: h = relu(linear(h)) * masks[t, l].
    /// </summary>
    public static Tensor ForwardWithMasks(NewLlmModel model, Tensor ids, Tensor masks) => ForwardWithContexts(model, ids, null, masks).Logits;

    /// <summary>Logits [B, T, V] and the context after every position [B, T, C], from <paramref name="initialContext"/> (zeros when null).</summary>
    public static (Tensor Logits, Tensor Contexts) ForwardWithContexts(NewLlmModel model, Tensor ids, Tensor? initialContext = null, Tensor? masks = null)
    {
        Dictionary<string, Tensor> p = model.state_dict();
        int layers = model.Options.NumLayers;
        double dropout = model.training ? model.Options.Dropout : 0.0;
        Tensor emb = p["token_embedding.weight"].index_select(0, ids.reshape(-1)).reshape(ids.shape[0], ids.shape[1], -1).transpose(0, 1);   // [T, B, E]
        Tensor ctx = initialContext ?? zeros(ids.shape[0], model.Options.ContextDim, dtype: emb.dtype);
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
            ctx = clamp(F.layer_norm(f * ctx + g * cand, new long[] { model.Options.ContextDim }, p["context_norm.weight"], p["context_norm.bias"]), -10.0, 10.0);
            contexts.Add(ctx);
        }

        return (stack(logits, 1), stack(contexts, 1));
    }
}
