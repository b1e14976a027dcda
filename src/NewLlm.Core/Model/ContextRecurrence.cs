using F = TorchSharp.torch.nn.functional;

namespace NewLlm;

/// <summary>
/// New-LLM's recurrence: how the context vector and the hidden states follow from the tokens. Start here to read
/// the model; <see cref="NewLlmModel"/> adds the output head, and the fast training path
/// (<see cref="RecurrenceFunction"/>, under <c>Model/FastPath/</c>) computes the same function with a hand-written
/// backward.
/// </summary>
internal static class ContextRecurrence
{
    /// <summary><c>nn.LayerNorm</c>'s default epsilon, as in the original.</summary>
    public const double LayerNormEps = 1e-5;

    /// <summary>
    /// The recurrence as its equations, one position at a time. At position t, with x_t the token and c_0 the initial context:
    /// <code>
    /// h_t     = FNN([embed(x_t) ; c_t])        FNN: NumLayers x (Linear, ReLU, Dropout)
    /// u, f, i = context_update(h_t), sigmoid(forget_gate(h_t)), sigmoid(input_gate(h_t))
    /// c_(t+1) = clamp(LayerNorm(f * c_t + i * u), -10, 10)
    /// </code>
    /// The first Linear's product with [embed(x_t) ; c_t] is split into its embedding share, which does not depend on
    /// the context and is computed for every position in one product, and its context share, added per position.
    /// Used for inference and <see cref="NewLlmModel.Step(Tensor, NewLlmState)"/>; differentiable by plain autograd.
    /// </summary>
    /// <returns>The last FNN layer's output h_t for every position [B, T, H] and the context after every position, c_(t+1), [B, T, C].</returns>
    public static (Tensor Hidden, Tensor Contexts) Reference(RecurrenceWeights weights, Tensor ids, Tensor context, double dropout, bool training)
    {
        int time = (int)ids.shape[1];
        long[] contextShape = [weights.ContextDim];
        Tensor embedded = weights.TokenEmbedding.index_select(0, ids.t().reshape(-1)).view(time, ids.shape[0], weights.EmbedDim);   // [T, B, E]
        Tensor[] embeddingShare = F.linear(embedded, weights.FirstEmbeddingWeight, weights.Layers[0].Bias).unbind(0);
        Tensor contextWeight = weights.FirstContextWeight.t();

        var hidden = new Tensor[time];
        var contexts = new Tensor[time];
        for (int t = 0; t < time; t++)
        {
            Tensor h = F.dropout(F.relu(embeddingShare[t].addmm(context, contextWeight)), dropout, training);
            for (int layer = 1; layer < weights.Layers.Count; layer++)
            {
                (Tensor w, Tensor b) = weights.Layers[layer];
                h = F.dropout(F.relu(F.linear(h, w, b)), dropout, training);
            }

            Tensor f = sigmoid(F.linear(h, weights.ForgetGate.Weight, weights.ForgetGate.Bias));
            Tensor i = sigmoid(F.linear(h, weights.InputGate.Weight, weights.InputGate.Bias));
            Tensor u = F.linear(h, weights.ContextUpdate.Weight, weights.ContextUpdate.Bias);
            Tensor mixed = f.mul(context).add(i.mul(u), HeldScalars.One);
            context = F.layer_norm(mixed, contextShape, weights.ContextNorm.Weight, weights.ContextNorm.Bias, LayerNormEps)
                .clamp(HeldScalars.ContextClampMin, HeldScalars.ContextClampMax);
            hidden[t] = h;
            contexts[t] = context;
        }

        return (stack(hidden, 1), stack(contexts, 1));
    }
}
